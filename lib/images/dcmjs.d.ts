/**
 * The part of dcmjs (no types of its own) that de-identification uses: read a Part 10 file into
 * a dataset of tag → element, change it, write it back.
 */
declare module 'dcmjs' {
  /** A dataset: 8-hex-digit tag (upper case, "00100010") → element. */
  export type DicomDataset = Record<string, DicomElement>;
  export interface DicomElement {
    vr: string;
    /** Values; a sequence's items are datasets, a person name is `{ Alphabetic }`, binary data is ArrayBuffers. */
    Value?: unknown[];
    InlineBinary?: string;
    BulkDataURI?: string;
  }
  export interface DicomDict {
    meta: DicomDataset;
    dict: DicomDataset;
    write(options?: { allowInvalidVRLength?: boolean }): ArrayBuffer;
  }
  const dcmjs: {
    log: { setLevel(level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'silent'): void };
    data: {
      DicomMessage: { readFile(buffer: ArrayBuffer, options?: { ignoreErrors?: boolean; untilTag?: string | null }): DicomDict };
    };
  };
  export default dcmjs;
}
