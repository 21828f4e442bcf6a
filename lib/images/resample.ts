/**
 * Area-average (box) resampling and centre "cover" crops on raw 8-bit pixels, in plain
 * JavaScript: turning the decoder's small working copy into the model input costs a fraction of
 * a millisecond, far less than a second libvips pipeline. Downscaling by area averaging is
 * antialiased; the weights handle fractional factors exactly.
 */

export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

/** Source interval [start, end) of output cell `i` when `inSize` maps onto `outSize` (with crop offset). */
function weightsFor(outSize: number, scale: number, offset: number): { first: Int32Array; weights: Float32Array[] } {
  const first = new Int32Array(outSize);
  const weights: Float32Array[] = [];
  for (let i = 0; i < outSize; i++) {
    const start = offset + i * scale;
    const end = start + scale;
    const lo = Math.floor(start);
    const hi = Math.ceil(end);
    const w = new Float32Array(hi - lo);
    for (let s = lo; s < hi; s++) w[s - lo] = (Math.min(end, s + 1) - Math.max(start, s)) / scale;
    first[i] = lo;
    weights.push(w);
  }
  return { first, weights };
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
  const offsetX = (image.width - width * scaleX) / 2;
  const offsetY = (image.height - height * scaleY) / 2;
  const xs = weightsFor(width, scaleX, offsetX);
  const ys = weightsFor(height, scaleY, offsetY);
  const c = image.channels;
  const out = new Uint8Array(width * height * channels);
  const acc = new Float32Array(c);
  for (let y = 0; y < height; y++) {
    const wy = ys.weights[y]!;
    const y0 = ys.first[y]!;
    for (let x = 0; x < width; x++) {
      const wx = xs.weights[x]!;
      const x0 = xs.first[x]!;
      acc.fill(0);
      for (let j = 0; j < wy.length; j++) {
        const sy = Math.min(image.height - 1, y0 + j);
        for (let i = 0; i < wx.length; i++) {
          const w = wy[j]! * wx[i]!;
          if (w === 0) continue;
          const at = (sy * image.width + Math.min(image.width - 1, x0 + i)) * c;
          for (let k = 0; k < c; k++) acc[k]! += image.data[at + k]! * w;
        }
      }
      const dst = (y * width + x) * channels;
      if (channels === 1) {
        out[dst] = Math.round(c >= 3 ? 0.299 * acc[0]! + 0.587 * acc[1]! + 0.114 * acc[2]! : acc[0]!);
      } else {
        for (let k = 0; k < 3; k++) out[dst + k] = Math.round(acc[c >= 3 ? k : 0]!);
      }
    }
  }
  return out;
}
