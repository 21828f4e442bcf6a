/**
 * The model input's last step: area averaging and centre crops on raw pixels, checked on hand-built
 * images whose right answers are known (block means, whole-pixel crops, luma), and the working
 * copy's size that the decoder asks sharp for.
 */
import { describe, expect, it } from 'vitest';
import { workingResize } from '../../../lib/images/image-decoder';
import { coverResize, fillResize, type RawImage } from '../../../lib/images/resample';

/** A `width`×`height` image whose pixel (x, y, k) is `value(x, y, k)`. */
function image(width: number, height: number, channels: number, value: (x: number, y: number, k: number) => number): RawImage {
  const data = new Uint8Array(width * height * channels);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) for (let k = 0; k < channels; k++) data[(y * width + x) * channels + k] = value(x, y, k);
  return { data, width, height, channels };
}

describe('coverResize', () => {
  it('at scale 1 crops the centre on whole pixels, with no blur', () => {
    const source = image(9, 4, 1, (x, y) => 10 * x + y);
    // 9 → 4 wide: (9 − 4) / 2 = 2.5 pixels off each side; the crop starts at column 2, not between 2 and 3.
    expect([...coverResize(source, 4, 4, 1)]).toEqual([20, 30, 40, 50, 21, 31, 41, 51, 22, 32, 42, 52, 23, 33, 43, 53]);
  });

  it('halving averages each 2×2 block', () => {
    const source = image(4, 4, 1, (x, y) => (x + 4 * y) * 10);
    // blocks: (0,10,40,50), (20,30,60,70), (80,90,120,130), (100,110,140,150)
    expect([...coverResize(source, 2, 2, 1)]).toEqual([25, 45, 105, 125]);
  });

  it('a fractional factor weighs the pixels it straddles by their overlap', () => {
    const source = image(3, 3, 1, (x) => [0, 90, 180][x]!);
    // 3 → 2: cell 0 takes pixel 0 and half of pixel 1: (0 + 0.5 × 90) / 1.5 = 30; cell 1: (0.5 × 90 + 180) / 1.5 = 150.
    expect([...coverResize(source, 2, 2, 1)]).toEqual([30, 150, 30, 150]);
  });

  it('converts colour to grey by Rec. 601 luma, and grey to colour by copying', () => {
    const rgb = image(2, 2, 3, (_x, _y, k) => [200, 100, 50][k]!);
    expect([...coverResize(rgb, 1, 1, 1)]).toEqual([Math.round(0.299 * 200 + 0.587 * 100 + 0.114 * 50)]);
    const grey = image(2, 2, 1, () => 77);
    expect([...coverResize(grey, 1, 1, 3)]).toEqual([77, 77, 77]);
    // Grey with alpha (two channels): the grey, never a mix with the alpha.
    const greyAlpha = image(2, 2, 2, (_x, _y, k) => (k === 0 ? 90 : 255));
    expect([...coverResize(greyAlpha, 1, 1, 1)]).toEqual([90]);
  });
});

describe('fillResize', () => {
  it('keeps a flat image flat at every size, edges included', () => {
    // Sizes whose offsets come out a hair below zero in floating point: every cell must still read real pixels.
    for (const [w, h, tw, th] of [
      [174, 56, 42, 44],
      [79, 125, 30, 51],
      [7, 3, 5, 11],
    ] as const) {
      const out = fillResize(
        image(w, h, 3, () => 127),
        tw,
        th,
        1,
      );
      expect(out.every((v) => v === 127)).toBe(true);
    }
  });

  it('stretches rather than crops: the left and right ends of a wide image both survive', () => {
    const source = image(8, 2, 1, (x) => (x < 2 ? 0 : x >= 6 ? 255 : 128));
    const out = fillResize(source, 4, 4, 1);
    expect(out[0]).toBe(0);
    expect(out[3]).toBe(255);
  });
});

describe('workingResize', () => {
  const grey64 = { height: 64, width: 64, channels: 1 as const };

  it('asks for the smallest copy that covers the model input', () => {
    expect(workingResize(500, 333, grey64, 0)).toEqual({ width: 64, height: 64, fit: 'outside', withoutEnlargement: true });
  });

  it('asks for the thumbnail size when the thumbnail needs more pixels than the model input', () => {
    expect(workingResize(500, 333, grey64, 160)).toMatchObject({ width: 160, height: 160, fit: 'inside' });
    // A very wide image: covering 64×64 needs a copy 64 high, wider than a 160 thumbnail.
    expect(workingResize(2000, 200, grey64, 160)).toMatchObject({ fit: 'outside' });
  });
});
