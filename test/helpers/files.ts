/** Real files and hostile variants of them, for decoder tests. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const SHARED = join(process.cwd(), '..', 'shared', 'data');
export const PYDICOM = '/usr/lib/python3/dist-packages/pydicom/data/test_files';

export const photo = (name = 'kodak_kodim01.jpg') => new Uint8Array(readFileSync(join(SHARED, 'photos', name)));
export const xray = (name = 'IM-0133-0001.png') => new Uint8Array(readFileSync(join(SHARED, 'chest-xray', name)));
export const dicom = (name: string) => new Uint8Array(readFileSync(join(PYDICOM, name)));

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** CRC-32 (PNG chunks, zip). */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** A real PNG whose IHDR (with a valid CRC) claims width × height. */
export function pngClaiming(png: Uint8Array, width: number, height: number): Uint8Array {
  const out = new Uint8Array(png);
  const view = new DataView(out.buffer);
  view.setUint32(16, width);
  view.setUint32(20, height);
  view.setUint32(29, crc32(out.subarray(12, 29)));
  return out;
}

/** A real JPEG whose SOF0/SOF2 header claims width × height. */
export function jpegClaiming(jpeg: Uint8Array, width: number, height: number): Uint8Array {
  const out = new Uint8Array(jpeg);
  for (let i = 2; i < out.length - 9; i++) {
    if (out[i] === 0xff && (out[i + 1] === 0xc0 || out[i + 1] === 0xc2)) {
      const view = new DataView(out.buffer);
      view.setUint16(i + 5, height);
      view.setUint16(i + 7, width);
      return out;
    }
  }
  throw new Error('no SOF marker');
}

/** A minimal uncompressed little-endian 16-bit greyscale TIFF of `pixels` (width × height). */
export function tiff16(pixels: Uint16Array, width: number, height: number): Uint8Array {
  const entries: [number, number, number, number][] = [
    // tag, type (3 SHORT, 4 LONG), count, value
    [256, 4, 1, width],
    [257, 4, 1, height],
    [258, 3, 1, 16],
    [259, 3, 1, 1],
    [262, 3, 1, 1],
    [273, 4, 1, 0],
    [277, 3, 1, 1],
    [278, 4, 1, height],
    [279, 4, 1, pixels.byteLength],
  ];
  const ifdSize = 2 + entries.length * 12 + 4;
  const dataOffset = 8 + ifdSize;
  entries[5]![3] = dataOffset;
  const out = new Uint8Array(dataOffset + pixels.byteLength);
  const view = new DataView(out.buffer);
  out.set([0x49, 0x49, 0x2a, 0x00]);
  view.setUint32(4, 8, true);
  view.setUint16(8, entries.length, true);
  entries.forEach(([tag, type, count, value], i) => {
    const at = 10 + i * 12;
    view.setUint16(at, tag, true);
    view.setUint16(at + 2, type, true);
    view.setUint32(at + 4, count, true);
    if (type === 3) view.setUint16(at + 8, value, true);
    else view.setUint32(at + 8, value, true);
  });
  for (let i = 0; i < pixels.length; i++) view.setUint16(dataOffset + i * 2, pixels[i]!, true);
  return out;
}
