import { describe, expect, it } from 'vitest';
import { hellingerHistograms, rgbToHsv } from '../../../lib/vectors/colour-histogram';

describe('HSV colour histograms under the Hellinger distance', () => {
  it('converts the primaries and grey to HSV', () => {
    expect(rgbToHsv(1, 0, 0)).toEqual([0, 1, 1]);
    expect(rgbToHsv(0, 1, 0)[0]).toBeCloseTo(1 / 3, 12);
    expect(rgbToHsv(0, 0, 1)[0]).toBeCloseTo(2 / 3, 12);
    expect(rgbToHsv(0.5, 0.5, 0.5)).toEqual([0, 0, 0.5]);
  });

  it('square-rooted bins of unit length: one colour fills one bin, half-and-half gives √½ twice', () => {
    // Two 2-pixel images: pure red twice; red and pure blue.
    const pixels = Uint8Array.from([255, 0, 0, 255, 0, 0, 255, 0, 0, 0, 0, 255]);
    const h = hellingerHistograms(pixels, 2, 3);
    expect(h.length).toBe(2 * 128);
    const first = Array.from(h.subarray(0, 128));
    const second = Array.from(h.subarray(128));
    // Red: hue bin 0, saturation bin 3, value bin 3 → (0·4 + 3)·4 + 3 = 15.
    expect(first[15]).toBe(1);
    expect(first.reduce((a, b) => a + b * b, 0)).toBeCloseTo(1, 6);
    // Blue: hue 2/3 → bin 5 → (5·4 + 3)·4 + 3 = 95.
    expect(second[15]).toBeCloseTo(Math.SQRT1_2, 6);
    expect(second[95]).toBeCloseTo(Math.SQRT1_2, 6);
  });

  it('refuses grey images', () => {
    expect(() => hellingerHistograms(new Uint8Array(4), 4, 1)).toThrow(/needs RGB images/);
  });
});
