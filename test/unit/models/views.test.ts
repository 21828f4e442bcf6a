/**
 * The augmented views of the two-view objective: shape and value range, determinism under the
 * seed (and independence from how a batch is sharded), and what each kind of collection may
 * change — X-rays are never mirrored.
 */
import { describe, expect, it } from 'vitest';
import type { ImageSet } from '../../../lib/data/image-set';
import { augmentImages, localPolicy, mixViews, VIEW_KINDS, VIEW_POLICIES, viewPolicy, type ViewPolicy } from '../../../lib/models/views';
import { hellingerHistograms } from '../../../lib/vectors/colour-histogram';

function gradientSet(count: number, size: number, channels: 1 | 3): ImageSet {
  const pixels = new Uint8Array(count * size * size * channels);
  for (let i = 0; i < count; i++)
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++)
        for (let c = 0; c < channels; c++)
          pixels[((i * size + y) * size + x) * channels + c] = ((x * 255) / (size - 1)) * ((c + i) % 3 === 0 ? 1 : 0.5);
  return { pixels, count, height: size, width: size, channels };
}

const indices = Int32Array.from([0, 1, 2, 3]);

describe('augmented views', () => {
  for (const kind of VIEW_KINDS) {
    const channels = kind === 'photo' ? 3 : 1;
    it(`${kind}: one [0,1] image per index in the set's shape, the same under the same seed`, () => {
      const set = gradientSet(4, 16, channels);
      const a = augmentImages(set, indices, viewPolicy(kind), 11, 0, 0);
      expect(a.length).toBe(4 * 16 * 16 * channels);
      expect(Math.min(...a)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...a)).toBeLessThanOrEqual(1);
      expect(augmentImages(set, indices, viewPolicy(kind), 11, 0, 0)).toEqual(a);
      expect(augmentImages(set, indices, viewPolicy(kind), 12, 0, 0)).not.toEqual(a);
      expect(augmentImages(set, indices, viewPolicy(kind), 11, 0, 1)).not.toEqual(a);
    });
  }

  it("multi-crop's small crops: the requested low resolution, in [0,1], deterministic, and a small area of the image", () => {
    const set = gradientSet(4, 32, 3);
    const crops = { count: 4, size: 8, scale: [0.05, 0.1] as const };
    const small = localPolicy(viewPolicy('photo', 0), crops);
    expect(small.scale).toEqual([0.05, 0.1]);
    const noColour: ViewPolicy = { ...small, jitter: { ...small.jitter, p: 0 }, greyscale: 0, blur: { p: 0, sigma: [0, 0] }, flip: false };
    const a = augmentImages(set, indices, noColour, 3, 0, 2, { height: 8, width: 8 });
    expect(a.length).toBe(4 * 8 * 8 * 3);
    expect(Math.min(...a)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...a)).toBeLessThanOrEqual(1);
    expect(augmentImages(set, indices, noColour, 3, 0, 2, { height: 8, width: 8 })).toEqual(a);
    // A crop of ≤ 10 % of the area spans ≤ ~1/3 of the horizontal ramp: its left-to-right range is small.
    for (let k = 0; k < 4; k++) {
      const row = Array.from({ length: 8 }, (_, x) => a[(k * 64 + 4 * 8 + x) * 3]!);
      expect(Math.max(...row) - Math.min(...row)).toBeLessThan(0.45);
    }
    const full = augmentImages(set, indices, { ...noColour, scale: [1, 1], ratio: [1, 1] }, 3, 0, 2, { height: 8, width: 8 });
    const row = Array.from({ length: 8 }, (_, x) => full[(4 * 8 + x) * 3]!);
    expect(Math.max(...row) - Math.min(...row)).toBeGreaterThan(0.8);
  });

  it('a view depends on the image position in the batch, not on how the batch is sharded', () => {
    const set = gradientSet(4, 12, 3);
    const whole = augmentImages(set, indices, viewPolicy('photo'), 5, 0, 0);
    const second = augmentImages(set, indices.subarray(2), viewPolicy('photo'), 5, 2, 0);
    expect(second).toEqual(whole.subarray(2 * 12 * 12 * 3));
  });

  it('X-rays are never mirrored: a left-to-right ramp stays left-to-right in every view', () => {
    expect(VIEW_POLICIES.xray.flip).toBe(false);
    const set = gradientSet(1, 24, 1);
    for (let seed = 0; seed < 200; seed++) {
      const v = augmentImages(set, [0], viewPolicy('xray'), seed, 0, 0);
      // Mean of the left and right thirds: the ramp rises to the right whatever the crop, shift, rotation or gamma.
      let left = 0;
      let right = 0;
      for (let y = 0; y < 24; y++)
        for (let x = 0; x < 8; x++) {
          left += v[y * 24 + x]!;
          right += v[y * 24 + 23 - x]!;
        }
      expect(right).toBeGreaterThan(left);
    }
  });

  it('photos are mirrored about half the time and garments too', () => {
    for (const kind of ['photo', 'garment'] as const) {
      const policy: ViewPolicy = { ...viewPolicy(kind, 0), scale: [1, 1], ratio: [1, 1], greyscale: 0, blur: { p: 0, sigma: [0, 0] } };
      const set = gradientSet(1, 16, kind === 'photo' ? 3 : 1);
      let flipped = 0;
      for (let seed = 0; seed < 200; seed++) {
        const v = augmentImages(set, [0], policy, seed, 0, 0);
        if (v[0]! > v[set.channels * 15]!) flipped++;
      }
      expect(flipped).toBeGreaterThan(70);
      expect(flipped).toBeLessThan(130);
    }
  });

  it('colour jitter changes colours in proportion to its strength; 0 keeps them', () => {
    const set = gradientSet(4, 16, 3);
    const still: ViewPolicy = {
      ...viewPolicy('photo', 0),
      scale: [1, 1],
      ratio: [1, 1],
      flip: false,
      greyscale: 0,
      blur: { p: 0, sigma: [0, 0] },
    };
    const hist = (p: ViewPolicy) => hellingerHistograms(augmentImages(set, indices, p, 3, 0, 0), 4, 3);
    const original = hellingerHistograms(augmentImages(set, indices, still, 3, 0, 0), 4, 3);
    const distance = (a: Float32Array) => Math.hypot(...a.map((v, i) => v - original[i]!));
    expect(distance(hist(still))).toBe(0);
    const jitter = (s: number): ViewPolicy => ({ ...still, jitter: { ...viewPolicy('photo', s).jitter, p: 1 } });
    expect(distance(hist(jitter(1)))).toBeGreaterThan(distance(hist(jitter(0.2))));
  });

  it('an unknown kind is refused with the valid ones', () => {
    expect(() => viewPolicy('satellite')).toThrow(/valid kinds: photo, xray, garment/);
  });
});

describe('i-Mix view mixing', () => {
  it('blends each view with a partner from a seeded shuffle: shapes, range, determinism, the blend itself', () => {
    const count = 6;
    const size = 16 * 16 * 3;
    const views = augmentImages(
      gradientSet(count, 16, 3),
      Int32Array.from({ length: count }, (_, i) => i),
      viewPolicy('photo'),
      5,
      0,
      0,
    );
    const mixed = mixViews(views, count, 7, 0);
    expect(mixed.pixels.length).toBe(views.length);
    expect([...mixed.partners].sort()).toEqual([0, 1, 2, 3, 4, 5]);
    for (const w of mixed.weights) expect(w >= 0 && w < 1).toBe(true);
    expect(Math.min(...mixed.pixels)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...mixed.pixels)).toBeLessThanOrEqual(1);
    for (let k = 0; k < count; k++) {
      const w = mixed.weights[k]!;
      const p = mixed.partners[k]!;
      for (const i of [0, 100, size - 1])
        expect(mixed.pixels[k * size + i]).toBeCloseTo(w * views[k * size + i]! + (1 - w) * views[p * size + i]!, 5);
    }
    expect(mixViews(views, count, 7, 0)).toEqual(mixed);
    expect(mixViews(views, count, 8, 0).weights).not.toEqual(mixed.weights);
    expect(mixViews(views, count, 7, 64).weights).not.toEqual(mixed.weights);
  });
});
