/**
 * Area-average (box) resampling and centre "cover" crops on raw 8-bit pixels, in plain
 * JavaScript: turning the decoder's small working copy into the model input costs a fraction of
 * a millisecond, far less than a second libvips pipeline. Downscaling by area averaging is
 * antialiased; the weights handle fractional factors exactly. A working copy already at the
 * model's scale (the usual case: the decoder shrinks to the smallest copy that covers the input)
 * is cropped on whole pixels, with no resampling at all.
 */

export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

/**
 * For each output cell along one axis, the source pixels it averages and their weights, as flat
 * arrays (`taps` per cell, padded with zero weights) so that the inner loops read without bounds
 * checks. Source indices are clamped to the image: upscaling takes the nearest source pixels.
 */
interface AxisTaps {
  taps: number;
  index: Int32Array;
  weight: Float64Array;
}

function axisTaps(outSize: number, inSize: number, scale: number, offset: number): AxisTaps {
  const lo = (i: number) => Math.floor(offset + i * scale);
  const hi = (i: number) => Math.ceil(offset + (i + 1) * scale);
  let taps = 1;
  for (let i = 0; i < outSize; i++) taps = Math.max(taps, hi(i) - lo(i));
  const index = new Int32Array(outSize * taps);
  const weight = new Float64Array(outSize * taps);
  for (let i = 0; i < outSize; i++) {
    const start = offset + i * scale;
    const end = start + scale;
    for (let t = 0, s = lo(i); s < hi(i); t++, s++) {
      index[i * taps + t] = Math.min(inSize - 1, Math.max(0, s));
      weight[i * taps + t] = (Math.min(end, s + 1) - Math.max(start, s)) / scale;
    }
  }
  return { taps, index, weight };
}

/**
 * Scales `image` to cover `width`×`height` (aspect kept, centre crop) and converts to `channels`
 * (3 → 1 by Rec. 601 luma), by area averaging. Upscaling falls back to nearest source pixels.
 */
export function coverResize(image: RawImage, width: number, height: number, channels: 1 | 3): Uint8Array {
  const scale = Math.min(image.width / width, image.height / height);
  return areaResize(image, width, height, channels, scale, scale);
}

/**
 * Scales `image` to exactly `width`×`height`, stretching when the aspect differs, so every source
 * pixel is kept: segmentation predicts a mask for the whole picture, not a centre crop.
 */
export function fillResize(image: RawImage, width: number, height: number, channels: 1 | 3): Uint8Array {
  return areaResize(image, width, height, channels, image.width / width, image.height / height);
}

function areaResize(image: RawImage, width: number, height: number, channels: 1 | 3, scaleX: number, scaleY: number): Uint8Array {
  if (scaleX === 1 && scaleY === 1) return crop(image, width, height, channels);
  const c = image.channels;
  const xs = axisTaps(width, image.width, scaleX, (image.width - width * scaleX) / 2);
  const ys = axisTaps(height, image.height, scaleY, (image.height - height * scaleY) / 2);
  // Separable: each source row the output needs is averaged along x once (per channel), then along y.
  let rowLo = image.height;
  let rowHi = 0;
  for (const v of ys.index) {
    rowLo = Math.min(rowLo, v);
    rowHi = Math.max(rowHi, v);
  }
  const plane = width * (rowHi - rowLo + 1);
  const rows = new Float64Array(plane * c);
  const { data } = image;
  for (let sy = rowLo; sy <= rowHi; sy++) {
    const src = sy * image.width * c;
    const dst = (sy - rowLo) * width;
    for (let k = 0; k < c; k++) {
      for (let x = 0; x < width; x++) {
        let sum = 0;
        for (let t = x * xs.taps, end = t + xs.taps; t < end; t++) sum += data[src + xs.index[t]! * c + k]! * xs.weight[t]!;
        rows[k * plane + dst + x] = sum;
      }
    }
  }
  const averaged = Array.from({ length: c >= 3 ? 3 : 1 }, (_, k) => {
    const out = new Float64Array(width * height);
    for (let y = 0; y < height; y++) {
      for (let t = y * ys.taps, end = t + ys.taps; t < end; t++) {
        const w = ys.weight[t]!;
        if (w === 0) continue;
        const from = k * plane + (ys.index[t]! - rowLo) * width;
        for (let x = 0; x < width; x++) out[y * width + x]! += rows[from + x]! * w;
      }
    }
    return out;
  });
  return toChannels(averaged, width * height, channels);
}

/** A centre crop at scale 1 (on whole pixels: a half-pixel offset would only blur). */
function crop(image: RawImage, width: number, height: number, channels: 1 | 3): Uint8Array {
  const c = image.channels;
  const left = Math.floor((image.width - width) / 2);
  const top = Math.floor((image.height - height) / 2);
  const planes = Array.from({ length: c >= 3 ? 3 : 1 }, (_, k) => {
    const out = new Float64Array(width * height);
    for (let y = 0; y < height; y++) {
      const src = ((top + y) * image.width + left) * c + k;
      for (let x = 0; x < width; x++) out[y * width + x] = image.data[src + x * c]!;
    }
    return out;
  });
  return toChannels(planes, width * height, channels);
}

/** Interleaves 1 or 3 planes into `channels` (3 → 1 by Rec. 601 luma, 1 → 3 by copying), rounded to 8 bits. */
function toChannels(planes: Float64Array[], size: number, channels: 1 | 3): Uint8Array {
  const out = new Uint8Array(size * channels);
  const [r, g = r, b = r] = planes as [Float64Array, Float64Array?, Float64Array?];
  if (channels === 1) {
    if (planes.length === 1) for (let i = 0; i < size; i++) out[i] = Math.round(r[i]!);
    else for (let i = 0; i < size; i++) out[i] = Math.round(0.299 * r[i]! + 0.587 * g[i]! + 0.114 * b[i]!);
  } else {
    for (let i = 0; i < size; i++) {
      out[3 * i] = Math.round(r[i]!);
      out[3 * i + 1] = Math.round(g[i]!);
      out[3 * i + 2] = Math.round(b[i]!);
    }
  }
  return out;
}
