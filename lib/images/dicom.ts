/**
 * DICOM decoding with dicom-parser: uncompressed little/big-endian pixel data, 8/16-bit, signed
 * or not, rescale slope/intercept, window centre/width (from the file or from the data's range),
 * MONOCHROME1 inversion → 8-bit grey. Compressed transfer syntaxes are refused by name; declared
 * lengths beyond the file are refused before anything is allocated. Patient-identifying tags are
 * not returned unless asked for.
 */
import dicomParser from 'dicom-parser';
import { AppError } from '../errors';

const UNCOMPRESSED = Object.freeze({
  '1.2.840.10008.1.2': { name: 'Implicit VR Little Endian', littleEndian: true },
  '1.2.840.10008.1.2.1': { name: 'Explicit VR Little Endian', littleEndian: true },
  '1.2.840.10008.1.2.2': { name: 'Explicit VR Big Endian', littleEndian: false },
} as const);

const COMPRESSED_NAMES: Record<string, string> = {
  '1.2.840.10008.1.2.1.99': 'Deflated Explicit VR Little Endian',
  '1.2.840.10008.1.2.5': 'RLE Lossless',
  '1.2.840.10008.1.2.4.50': 'JPEG Baseline',
  '1.2.840.10008.1.2.4.51': 'JPEG Extended',
  '1.2.840.10008.1.2.4.57': 'JPEG Lossless',
  '1.2.840.10008.1.2.4.70': 'JPEG Lossless SV1',
  '1.2.840.10008.1.2.4.80': 'JPEG-LS Lossless',
  '1.2.840.10008.1.2.4.81': 'JPEG-LS Near-Lossless',
  '1.2.840.10008.1.2.4.90': 'JPEG 2000 Lossless',
  '1.2.840.10008.1.2.4.91': 'JPEG 2000',
  '1.2.840.10008.1.2.4.201': 'HTJ2K Lossless',
  '1.2.840.10008.1.2.4.202': 'HTJ2K Lossless RPCL',
  '1.2.840.10008.1.2.4.203': 'HTJ2K',
};

/** Tags kept as metadata; patient-identifying ones only with `includePatient`. */
const SAFE_TAGS = Object.freeze({
  x00080060: 'modality',
  x00180015: 'bodyPart',
  x00185101: 'viewPosition',
  x00280004: 'photometric',
  x00080070: 'manufacturer',
  // Written by de-identification (PS3.15 E.1.1): the Image page says the stored file was de-identified.
  x00120062: 'patientIdentityRemoved',
  x00120063: 'deidentificationMethod',
});
const PATIENT_TAGS = Object.freeze({
  x00100010: 'patientName',
  x00100020: 'patientId',
  x00100030: 'patientBirthDate',
  x00100040: 'patientSex',
  x00080080: 'institution',
});

export interface DicomImage {
  width: number;
  height: number;
  /** 8-bit grey after rescale, windowing and MONOCHROME1 inversion. */
  pixels: Uint8Array;
  transferSyntax: string;
  metadata: Record<string, string | number>;
}

export function isDicom(bytes: Uint8Array): boolean {
  return bytes.length >= 132 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d;
}

/**
 * The file with its 128-byte preamble zeroed. The preamble is free-form (the standard allows any
 * content, which is how DICOM/executable and DICOM/TIFF polyglots are made); a file is never
 * handed back to a user with whatever someone put there.
 */
export function clearPreamble(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = Uint8Array.from(bytes);
  out.fill(0, 0, Math.min(128, out.length));
  return out;
}

function bad(message: string, cause?: unknown): AppError {
  return new AppError('invalid_input', `DICOM: ${message}`, cause === undefined ? undefined : { cause });
}

export function decodeDicom(bytes: Uint8Array, options: { includePatient?: boolean; maxPixels?: number } = {}): DicomImage {
  const parse = (options?: dicomParser.ParseDicomOptions) => {
    try {
      return dicomParser.parseDicom(bytes, options);
    } catch (error) {
      const message = typeof error === 'string' ? error : ((error as Error).message ?? String(error));
      throw bad(`cannot parse the file (${message.replace(/^dicomParser\.\w+: /, '')})`, error);
    }
  };
  // The transfer syntax first, from the meta header alone: compressed files are refused by name.
  const syntax = parse({ untilTag: 'x00020010' }).string('x00020010')?.trim() ?? '1.2.840.10008.1.2';
  const known = UNCOMPRESSED[syntax as keyof typeof UNCOMPRESSED];
  if (!known) {
    const name = COMPRESSED_NAMES[syntax];
    throw new AppError(
      'unsupported',
      `DICOM transfer syntax ${name ? `${name} (${syntax})` : syntax} is not supported; supported: ${Object.values(UNCOMPRESSED)
        .map((u) => u.name)
        .join(', ')}`,
    );
  }
  const data = parse();
  const rows = data.uint16('x00280010') ?? 0;
  const columns = data.uint16('x00280011') ?? 0;
  const bitsAllocated = data.uint16('x00280100') ?? 0;
  const samples = data.uint16('x00280002') ?? 1;
  const signed = (data.uint16('x00280103') ?? 0) === 1;
  const photometric = data.string('x00280004')?.trim() ?? 'MONOCHROME2';
  if (!rows || !columns) throw bad('no image size (Rows/Columns missing)');
  if (rows * columns > (options.maxPixels ?? 100_000_000))
    throw bad(`image is ${columns}×${rows} pixels; the limit is ${options.maxPixels ?? 100_000_000}`);
  if (samples !== 1 || !photometric.startsWith('MONOCHROME'))
    throw new AppError('unsupported', `DICOM with ${samples} samples per pixel (${photometric}) is not supported; only greyscale`);
  if (bitsAllocated !== 8 && bitsAllocated !== 16)
    throw new AppError('unsupported', `DICOM with ${bitsAllocated} bits allocated is not supported; only 8 or 16`);
  const element = data.elements.x7fe00010;
  if (!element) throw bad('no pixel data');
  const bytesPerSample = bitsAllocated / 8;
  const needed = rows * columns * bytesPerSample;
  if (element.length === 0xffffffff || element.encapsulatedPixelData)
    throw bad('pixel data of undefined length (encapsulated) in an uncompressed transfer syntax');
  if (element.dataOffset + element.length > bytes.length)
    throw bad(`pixel data declares ${element.length} bytes but the file ends after ${bytes.length - element.dataOffset}`);
  if (element.length < needed) throw bad(`pixel data holds ${element.length} bytes; ${columns}×${rows}×${bytesPerSample} needs ${needed}`);

  const view = new DataView(bytes.buffer, bytes.byteOffset + element.dataOffset, needed);
  const values = new Float32Array(rows * columns);
  const slope = data.floatString('x00281053') ?? 1;
  const intercept = data.floatString('x00281052') ?? 0;
  for (let i = 0; i < values.length; i++) {
    const raw =
      bitsAllocated === 8
        ? signed
          ? view.getInt8(i)
          : view.getUint8(i)
        : signed
          ? view.getInt16(i * 2, known.littleEndian)
          : view.getUint16(i * 2, known.littleEndian);
    values[i] = raw * slope + intercept;
  }
  let center = data.floatString('x00281050');
  let width = data.floatString('x00281051');
  if (center === undefined || width === undefined || !(width > 0)) {
    let min = Infinity;
    let max = -Infinity;
    for (const v of values) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    center = (min + max) / 2;
    width = Math.max(max - min, 1);
  }
  const low = center - width / 2;
  const invert = photometric === 'MONOCHROME1';
  const pixels = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = Math.min(255, Math.max(0, Math.round(((values[i]! - low) / width) * 255)));
    pixels[i] = invert ? 255 - v : v;
  }
  const metadata: Record<string, string | number> = { transferSyntax: known.name, bitsAllocated, windowCenter: center, windowWidth: width };
  const tags = { ...SAFE_TAGS, ...(options.includePatient ? PATIENT_TAGS : {}) };
  for (const [tag, key] of Object.entries(tags)) {
    const value = data.string(tag)?.trim();
    if (value) metadata[key] = value;
  }
  return { width: columns, height: rows, pixels, transferSyntax: syntax, metadata };
}
