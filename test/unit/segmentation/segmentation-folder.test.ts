/**
 * Image/mask folders are validated pair by pair, with errors naming the file: tiny generated
 * PNGs in a temp folder, decoded by the real decoder.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadSegmentationFolder, type SegmentationFolderOptions } from '../../../lib/segmentation/segmentation-folder';
import { isAppError } from '../../../lib/errors';

let root: string;
let images: string;
let masks: string;

const png = (pixels: Uint8Array, width: number, height: number, channels: 1 | 3) =>
  (channels === 1
    ? sharp(pixels, { raw: { width, height, channels } }).toColourspace('b-w')
    : sharp(pixels, { raw: { width, height, channels } })
  )
    .png()
    .toBuffer();

/** An 8×6 RGB image and its mask: the left half foreground (`value`). */
async function pair(name: string, options: { value?: number; maskWidth?: number; maskValues?: number[] } = {}) {
  const rgb = new Uint8Array(8 * 6 * 3).map((_, i) => (i * 37) % 256);
  writeFileSync(join(images, `${name}.png`), await png(rgb, 8, 6, 3));
  const w = options.maskWidth ?? 8;
  const mask = new Uint8Array(w * 6).map(
    (_, i) => options.maskValues?.[i % options.maskValues.length] ?? (i % w < w / 2 ? (options.value ?? 255) : 0),
  );
  writeFileSync(join(masks, `${name}.png`), await png(mask, w, 6, 1));
}

const load = (extra: Partial<SegmentationFolderOptions> = {}) =>
  loadSegmentationFolder({ images, masks, height: 4, width: 4, channels: 3, ...extra });

async function errorOf(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await promise;
  } catch (error) {
    expect(isAppError(error)).toBe(true);
    return { code: (error as { code: string }).code, message: (error as Error).message };
  }
  throw new Error('expected an error');
}

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'latent-atlas-seg-'));
  images = join(root, 'images');
  masks = join(root, 'masks');
  mkdirSync(images);
  mkdirSync(masks);
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('loadSegmentationFolder', () => {
  it('loads matching pairs, discovers the mask values and maps them to classes', async () => {
    await pair('a');
    await pair('b');
    const set = await load({ keepOriginals: true });
    expect(set.names).toEqual(['a', 'b']);
    expect(set.maskValues).toEqual([0, 255]);
    expect(set.pixels).toHaveLength(2 * 4 * 4 * 3);
    // 8×6 → 4×4 by nearest pixel: the left two columns are foreground.
    expect([...set.labels.subarray(0, 4)]).toEqual([1, 1, 0, 0]);
    expect(set.originals?.[0]).toMatchObject({ width: 8, height: 6 });
    expect(set.originals?.[0]?.labels.reduce((a, b) => a + b, 0)).toBe(24);
  });

  it('names the image whose mask is missing', async () => {
    await pair('a');
    rmSync(join(masks, 'a.png'));
    const error = await errorOf(load());
    expect(error.code).toBe('invalid_input');
    expect(error.message).toContain('a.png: no mask a.png');
  });

  it('names a mask whose size differs from its image', async () => {
    await pair('a', { maskWidth: 7 });
    expect((await errorOf(load())).message).toBe('mask a.png is 7×6 but image a.png is 8×6');
  });

  it('names a mask with a value outside the known ones', async () => {
    await pair('a');
    await pair('b', { value: 7 });
    const error = await errorOf(load({ maskValues: [0, 255] }));
    expect(error.message).toBe('mask b.png has the value 7; expected only 0, 255');
  });

  it('refuses masks with more distinct values than classes (anti-aliased masks)', async () => {
    await pair('a', { maskValues: [0, 1, 2, 3, 4] });
    expect((await errorOf(load({ maxClasses: 4 }))).message).toContain('mask a.png brings the number of distinct mask values to 5');
  });

  it('accepts grey values stored as RGB, refuses a colour mask and a file that is not an image, naming them', async () => {
    await pair('a');
    writeFileSync(
      join(masks, 'a.png'),
      await png(
        new Uint8Array(8 * 6 * 3).map((_, i) => (i < 72 ? 255 : 0)),
        8,
        6,
        3,
      ),
    );
    expect((await load()).maskValues).toEqual([0, 255]);
    writeFileSync(
      join(masks, 'a.png'),
      await png(
        new Uint8Array(8 * 6 * 3).map((_, i) => i % 3),
        8,
        6,
        3,
      ),
    );
    expect((await errorOf(load())).message).toMatch(/^mask a\.png: a mask must be a greyscale PNG/);
    rmSync(join(images, 'a.png'));
    writeFileSync(join(images, 'a.txt'), 'not a picture');
    const error = await errorOf(load());
    expect(error.code).toBe('unsupported');
    expect(error.message).toMatch(/^a\.txt: this file is an unrecognised format/);
  });

  it('takes one split of a split.csv and names rows without an image', async () => {
    await pair('a');
    await pair('b');
    const split = join(root, 'split.csv');
    writeFileSync(split, 'file,split\na,train\nb,test\n');
    expect((await load({ split: { file: split, name: 'test' } })).names).toEqual(['b']);
    writeFileSync(split, 'file,split\na,train\nc,train\n');
    expect((await errorOf(load({ split: { file: split, name: 'train' } }))).message).toContain('c: listed in the split file');
  });
});
