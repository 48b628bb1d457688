// dcmjs ships no type declarations; this is the narrow slice of its API the DICOM reader uses.
declare module 'dcmjs' {
  export interface DcmjsElement {
    vr: string;
    Value: unknown[];
  }
  export type DcmjsDataset = Record<string, DcmjsElement | undefined>;

  export interface DcmjsReadOptions {
    ignoreErrors?: boolean;
    untilTag?: string | null;
    includeUntilTagValue?: boolean;
    noCopy?: boolean;
  }

  export class DicomDict {
    constructor(meta: DcmjsDataset);
    meta: DcmjsDataset;
    dict: DcmjsDataset;
    write(options?: Record<string, unknown>): ArrayBuffer;
  }

  interface DicomMessageStatic {
    readFile(buffer: ArrayBuffer, options?: DcmjsReadOptions): DicomDict;
  }

  interface Dcmjs {
    data: { DicomMessage: DicomMessageStatic; DicomDict: typeof DicomDict };
    log: { setLevel(level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent'): void };
  }

  const dcmjs: Dcmjs;
  export default dcmjs;
}
