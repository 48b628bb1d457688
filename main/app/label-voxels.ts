// The label voxel codec and checks live in core (core/project/label-voxels.ts); handlers that
// still import them from here get the same functions.
export { checkInSchema, countDifferent, decodeLabelVoxels, encodeLabelFile, readStoredLabel } from '../core/project/label-voxels';
