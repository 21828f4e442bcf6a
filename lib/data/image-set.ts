/**
 * A set of same-sized images in one flat buffer (NHWC), the unit that training, encoding and
 * evaluation pass around. Pixels are uint8 (0–255) or float32 (0–1); the conversion to the
 * model's [0,1] input happens here, once, in one place.
 */
import { AppError } from '../errors';
import { tf, type Tensor4D } from '../engine/tf';

export interface ImageSet {
  pixels: Uint8Array | Float32Array;
  count: number;
  height: number;
  width: number;
  channels: number;
  /** Optional class labels, one per image. */
  labels?: Uint8Array | Int32Array;
}

export function imageSize(set: Pick<ImageSet, 'height' | 'width' | 'channels'>): number {
  return set.height * set.width * set.channels;
}

/** Checks that the buffer holds `count` images of the declared shape and fits the model input. */
export function checkImageSet(set: ImageSet, inputShape?: readonly [number, number, number]): void {
  if (set.pixels.length !== set.count * imageSize(set)) {
    throw new AppError(
      'invalid_input',
      `image set declares ${set.count} images of ${set.height}×${set.width}×${set.channels} but holds ${set.pixels.length} values`,
    );
  }
  if (inputShape && (inputShape[0] !== set.height || inputShape[1] !== set.width || inputShape[2] !== set.channels)) {
    throw new AppError(
      'invalid_input',
      `images are ${set.height}×${set.width}×${set.channels} but the model expects ${inputShape.join('×')}`,
    );
  }
  if (set.labels && set.labels.length !== set.count) {
    throw new AppError('invalid_input', `image set has ${set.count} images but ${set.labels.length} labels`);
  }
}

/** Copies images `order[start..end)` into a float32 [0,1] batch tensor. */
export function batchTensor(set: ImageSet, order: ArrayLike<number> | null, start: number, end: number): Tensor4D {
  const size = imageSize(set);
  const n = end - start;
  const out = new Float32Array(n * size);
  const scale = set.pixels instanceof Uint8Array ? 1 / 255 : 1;
  for (let b = 0; b < n; b++) {
    const index = order ? (order[start + b] as number) : start + b;
    const src = index * size;
    const dst = b * size;
    if (scale === 1) out.set(set.pixels.subarray(src, src + size), dst);
    else for (let k = 0; k < size; k++) out[dst + k] = (set.pixels[src + k] as number) * scale;
  }
  return tf.tensor4d(out, [n, set.height, set.width, set.channels]);
}

/** The images at `indices` as a new set (labels kept). */
export function subsetImages(set: ImageSet, indices: ArrayLike<number>): ImageSet {
  const size = imageSize(set);
  const pixels = set.pixels instanceof Uint8Array ? new Uint8Array(indices.length * size) : new Float32Array(indices.length * size);
  const labels = set.labels ? new Int32Array(indices.length) : undefined;
  for (let i = 0; i < indices.length; i++) {
    const src = (indices[i] as number) * size;
    pixels.set(set.pixels.subarray(src, src + size), i * size);
    if (labels && set.labels) labels[i] = set.labels[indices[i] as number] as number;
  }
  return { pixels, count: indices.length, height: set.height, width: set.width, channels: set.channels, ...(labels ? { labels } : {}) };
}

/** The first `n` images of a set (a view, no copy). */
export function headImages(set: ImageSet, n: number): ImageSet {
  const count = Math.min(n, set.count);
  return {
    ...set,
    count,
    pixels: set.pixels.subarray(0, count * imageSize(set)),
    ...(set.labels ? { labels: set.labels.subarray(0, count) } : {}),
  };
}
