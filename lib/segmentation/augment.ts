/**
 * Pure pixel work for segmentation data, no tensors: nearest-neighbour resizing of class maps
 * (a class is never averaged into another) and the seeded augmentations that must move image
 * and mask together — a random crop scaled back to full size and a horizontal flip.
 */

/** Class map `width`×`height` → `outWidth`×`outHeight`, nearest pixel centre. */
export function resizeLabels(labels: Uint8Array, width: number, height: number, outWidth: number, outHeight: number): Uint8Array {
  if (labels.length !== width * height) throw new Error(`${labels.length} labels for ${width}×${height}`);
  if (width === outWidth && height === outHeight) return labels.slice();
  const out = new Uint8Array(outWidth * outHeight);
  const cols = Int32Array.from({ length: outWidth }, (_, x) => Math.min(width - 1, Math.floor(((x + 0.5) * width) / outWidth)));
  for (let y = 0; y < outHeight; y++) {
    const row = Math.min(height - 1, Math.floor(((y + 0.5) * height) / outHeight)) * width;
    for (let x = 0; x < outWidth; x++) out[y * outWidth + x] = labels[row + cols[x]!]!;
  }
  return out;
}

export interface AugmentOptions {
  /** Mirror left-right with probability 1/2. Default true. */
  flip?: boolean;
  /** Smallest crop side as a fraction of the image side (1 = no crop). Default 0.7. */
  minCrop?: number;
}

/** One sample's augmentation: a crop window (pixels, may be fractional) and a flip. */
export interface Augmentation {
  x: number;
  y: number;
  width: number;
  height: number;
  flip: boolean;
}

/** A random crop window (side fraction uniform in [minCrop, 1], position uniform) and flip, from `random`. */
export function randomAugmentation(random: () => number, width: number, height: number, options: AugmentOptions = {}): Augmentation {
  const minCrop = options.minCrop ?? 0.7;
  const side = minCrop + (1 - minCrop) * random();
  const w = width * side;
  const h = height * side;
  return { x: (width - w) * random(), y: (height - h) * random(), width: w, height: h, flip: (options.flip ?? true) && random() < 0.5 };
}

/**
 * Applies `aug` to an image (HWC uint8) and its class map, writing `height`×`width` outputs:
 * the image bilinearly sampled and scaled to [0,1], the classes by nearest pixel.
 */
export function augmentPair(
  image: Uint8Array,
  labels: Uint8Array,
  size: { height: number; width: number; channels: number },
  aug: Augmentation,
  outImage: Float32Array,
  outLabels: Uint8Array,
): void {
  const { height, width, channels } = size;
  const sx = aug.width / width;
  const sy = aug.height / height;
  for (let y = 0; y < height; y++) {
    const fy = Math.min(height - 1, Math.max(0, aug.y + (y + 0.5) * sy - 0.5));
    const y0 = Math.floor(fy);
    const y1 = Math.min(height - 1, y0 + 1);
    const wy = fy - y0;
    const ly = Math.min(height - 1, Math.floor(aug.y + (y + 0.5) * sy));
    for (let x = 0; x < width; x++) {
      const ox = aug.flip ? width - 1 - x : x;
      const fx = Math.min(width - 1, Math.max(0, aug.x + (x + 0.5) * sx - 0.5));
      const x0 = Math.floor(fx);
      const x1 = Math.min(width - 1, x0 + 1);
      const wx = fx - x0;
      const lx = Math.min(width - 1, Math.floor(aug.x + (x + 0.5) * sx));
      outLabels[y * width + ox] = labels[ly * width + lx]!;
      for (let c = 0; c < channels; c++) {
        const a = image[(y0 * width + x0) * channels + c]!;
        const b = image[(y0 * width + x1) * channels + c]!;
        const d = image[(y1 * width + x0) * channels + c]!;
        const e = image[(y1 * width + x1) * channels + c]!;
        const v = (a * (1 - wx) + b * wx) * (1 - wy) + (d * (1 - wx) + e * wx) * wy;
        outImage[(y * width + ox) * channels + c] = v / 255;
      }
    }
  }
}
