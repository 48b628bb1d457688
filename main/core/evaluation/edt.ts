// The EDT lives in base/ (generic, used by evaluation metrics and label editing); kept importable here.
export { edt, squaredEdt } from '../base/edt';
