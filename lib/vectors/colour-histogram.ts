/**
 * The colour histogram of content-based image retrieval (Swain & Ballard 1991), the baseline a
 * photo model has to beat: each image's pixels counted in HSV bins (8 hues × 4 saturations × 4
 * values by default), normalised to sum 1 and square-rooted, so that the Euclidean distance
 * between two such vectors is √2 × their Hellinger distance and any L2 search or k-means ranks
 * images exactly as Hellinger would. Pure arithmetic on pixel buffers, no tensors.
 */
import { AppError } from '../errors';

export interface HistogramBins {
  hue: number;
  saturation: number;
  value: number;
}

/** 8 × 4 × 4 = 128 bins: hue carries most of a photo's colour, so it gets the most bins. */
export const DEFAULT_HSV_BINS: Readonly<HistogramBins> = Object.freeze({ hue: 8, saturation: 4, value: 4 });

/** r, g, b in [0,1] → h in [0,1), s and v in [0,1]. */
export function rgbToHsv(r: number, g: number, b: number): [number, number, number] {
  const max = Math.max(r, g, b);
  const min = Math.min(r, g, b);
  const chroma = max - min;
  let h = 0;
  if (chroma > 0) {
    if (max === r) h = ((g - b) / chroma + 6) % 6;
    else if (max === g) h = (b - r) / chroma + 2;
    else h = (r - g) / chroma + 4;
  }
  return [h / 6, max === 0 ? 0 : chroma / max, max];
}

const binOf = (v: number, bins: number) => Math.min(bins - 1, Math.floor(v * bins));

/**
 * Square-rooted, normalised HSV histograms of `count` RGB images (HWC, values 0–255 in a
 * Uint8Array or 0–1 in a Float32Array), one row of hue·saturation·value floats per image.
 * Grey images (1 channel) have no hue or saturation: they are refused.
 */
export function hellingerHistograms(
  pixels: Uint8Array | Float32Array,
  count: number,
  channels: number,
  bins: HistogramBins = DEFAULT_HSV_BINS,
): Float32Array {
  if (channels !== 3) throw new AppError('invalid_input', `a colour histogram needs RGB images; these have ${channels} channel(s)`);
  const perImage = pixels.length / count / 3;
  if (!Number.isInteger(perImage) || perImage === 0)
    throw new AppError('invalid_input', `${pixels.length} values do not split into ${count} RGB images`);
  const dim = bins.hue * bins.saturation * bins.value;
  const scale = pixels instanceof Uint8Array ? 1 / 255 : 1;
  const out = new Float32Array(count * dim);
  for (let i = 0; i < count; i++) {
    const row = out.subarray(i * dim, (i + 1) * dim);
    for (let p = 0; p < perImage; p++) {
      const at = (i * perImage + p) * 3;
      const [h, s, v] = rgbToHsv(pixels[at]! * scale, pixels[at + 1]! * scale, pixels[at + 2]! * scale);
      row[(binOf(h, bins.hue) * bins.saturation + binOf(s, bins.saturation)) * bins.value + binOf(v, bins.value)]! += 1;
    }
    for (let k = 0; k < dim; k++) row[k] = Math.sqrt(row[k]! / perImage);
  }
  return out;
}
