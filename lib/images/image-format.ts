/**
 * Image formats decided from the bytes (magic numbers), never from a file name or Content-Type.
 * Only formats on this list are ever handed to a decoder; everything else (SVG, HTML, PDF, …) is
 * refused with an error naming what was detected and what is accepted.
 */
import { AppError } from '../errors';

export const IMAGE_FORMATS = Object.freeze({
  // First: a DICOM preamble may itself look like a TIFF header (dual-format files).
  dicom: { mime: 'application/dicom', magic: (b: Uint8Array) => b.length >= 132 && ascii(b, 128, 132) === 'DICM' },
  jpeg: { mime: 'image/jpeg', magic: (b: Uint8Array) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
  png: { mime: 'image/png', magic: (b: Uint8Array) => startsWith(b, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]) },
  webp: { mime: 'image/webp', magic: (b: Uint8Array) => ascii(b, 0, 4) === 'RIFF' && ascii(b, 8, 12) === 'WEBP' },
  tiff: {
    mime: 'image/tiff',
    magic: (b: Uint8Array) => startsWith(b, [0x49, 0x49, 0x2a, 0x00]) || startsWith(b, [0x4d, 0x4d, 0x00, 0x2a]),
  },
  gif: { mime: 'image/gif', magic: (b: Uint8Array) => ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a' },
  // ISO base media file with an AVIF brand; sharp's bundled libheif decodes it.
  avif: { mime: 'image/avif', magic: (b: Uint8Array) => ascii(b, 4, 8) === 'ftyp' && ['avif', 'avis'].includes(ascii(b, 8, 12)) },
} as const);
export type ImageFormat = keyof typeof IMAGE_FORMATS;

function startsWith(bytes: Uint8Array, prefix: number[]): boolean {
  return prefix.every((v, i) => bytes[i] === v);
}

function ascii(bytes: Uint8Array, start: number, end: number): string {
  return String.fromCharCode(...bytes.subarray(start, end));
}

/** A best-effort name for bytes we refuse, for the error message. */
function describeUnknown(bytes: Uint8Array): string {
  const head = ascii(bytes, 0, Math.min(bytes.length, 256)).trimStart().toLowerCase();
  if (bytes.length === 0) return 'an empty file';
  if (bytes[0] === 0x4d && bytes[1] === 0x5a) return 'a Windows executable';
  if (bytes[0] === 0x7f && ascii(bytes, 1, 4) === 'ELF') return 'an ELF executable';
  if (bytes[0] === 0x50 && bytes[1] === 0x4b) return 'a ZIP archive';
  if (head.startsWith('<svg') || (head.startsWith('<?xml') && head.includes('<svg'))) return 'SVG';
  if (head.startsWith('<!doctype html') || head.startsWith('<html')) return 'HTML';
  if (head.startsWith('%pdf')) return 'PDF';
  if (bytes[0] === 0x42 && bytes[1] === 0x4d) return 'BMP';
  return 'an unrecognised format';
}

/** The format of `bytes`, or AppError('unsupported') naming the detected type and the accepted ones. */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat {
  for (const [name, format] of Object.entries(IMAGE_FORMATS)) {
    if (format.magic(bytes)) return name as ImageFormat;
  }
  throw new AppError('unsupported', `this file is ${describeUnknown(bytes)}; accepted formats: ${Object.keys(IMAGE_FORMATS).join(', ')}`);
}
