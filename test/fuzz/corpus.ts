/**
 * The fuzzer's corpus: real files of every format the app accepts — the shared photos (JPEG) and
 * chest X-rays (PNG), Debian's DICOM samples (python3-pydicom: uncompressed, RLE, JPEG, JPEG 2000,
 * big endian, implicit VR, multi-frame), and files made by sharp from a photo (PNG 8 and 16 bit,
 * WebP lossy and lossless, AVIF, TIFF plain, LZW and 16 bit, GIF, progressive JPEG), small so that
 * thousands of cases run in minutes.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { PYDICOM, SHARED } from '../helpers/files';
import type { SeedFile } from './mutate';

const read = (path: string) => new Uint8Array(readFileSync(path));

export async function fuzzCorpus(): Promise<SeedFile[]> {
  const corpus: SeedFile[] = [];
  const photos = readdirSync(join(SHARED, 'photos'))
    .filter((n) => n.endsWith('.jpg'))
    .sort()
    .slice(0, 4);
  for (const name of photos) corpus.push({ name, format: 'jpeg', bytes: read(join(SHARED, 'photos', name)) });
  const xrays = readdirSync(join(SHARED, 'chest-xray'))
    .filter((n) => n.endsWith('.png'))
    .sort()
    .slice(0, 3);
  for (const name of xrays) corpus.push({ name, format: 'png', bytes: read(join(SHARED, 'chest-xray', name)) });
  const dicoms = readdirSync(PYDICOM)
    .filter((n) => n.endsWith('.dcm') && statSync(join(PYDICOM, n)).size < 256 * 1024)
    .sort();
  for (const name of dicoms) {
    const bytes = read(join(PYDICOM, name));
    // Only files the app sniffs as DICOM (those with the 128-byte preamble and DICM): the rest are refused before any decoder.
    if (String.fromCharCode(...bytes.subarray(128, 132)) === 'DICM') corpus.push({ name, format: 'dicom', bytes });
  }
  const source = sharp(read(join(SHARED, 'photos', photos[0]!)))
    .resize(96, 72)
    .withMetadata();
  const make = async (name: string, format: SeedFile['format'], image: Sharp) =>
    corpus.push({ name, format, bytes: new Uint8Array(await image.toBuffer()) });
  await make('sharp.png', 'png', source.clone().png());
  await make('sharp-16bit-grey.png', 'png', source.clone().greyscale().toColourspace('grey16').png());
  await make('sharp-palette.png', 'png', source.clone().png({ palette: true }));
  await make('sharp-lossy.webp', 'webp', source.clone().webp({ quality: 60 }));
  await make('sharp-lossless.webp', 'webp', source.clone().webp({ lossless: true }));
  await make('sharp.avif', 'avif', source.clone().avif({ quality: 50, effort: 0 }));
  await make('sharp.tiff', 'tiff', source.clone().tiff());
  await make('sharp-lzw.tiff', 'tiff', source.clone().tiff({ compression: 'lzw' }));
  await make('sharp-16bit.tiff', 'tiff', source.clone().toColourspace('rgb16').tiff());
  await make('sharp.gif', 'gif', source.clone().gif());
  await make('sharp-progressive.jpg', 'jpeg', source.clone().jpeg({ progressive: true }));
  return corpus;
}
