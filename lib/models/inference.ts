/**
 * Batched inference with a trained autoencoder: images → latent vectors (`encodeImages`), images
 * → search vectors (`embedImages`: the codes through the search head),
 * images → reconstructions (`reconstructImages`), noisy images → clean ones (`denoiseImages`),
 * and codes → images (`decodeCodes`, for walks through the latent space).
 */
import { tf, type Tensor2D, type Tensor4D } from '../engine/tf';
import type { Autoencoder } from './autoencoder';
import { batchTensor, checkImageSet, imageSize, type ImageSet } from '../data/image-set';
import { addNoise } from './train';

export interface InferenceOptions {
  /** Images per forward pass: larger amortises overhead, costs memory. Default 1000. */
  batchSize?: number;
}

function forEachBatch(set: ImageSet, batchSize: number, run: (x: Tensor4D, start: number) => void): void {
  for (let s = 0; s < set.count; s += batchSize) {
    const e = Math.min(set.count, s + batchSize);
    tf.tidy(() => run(batchTensor(set, null, s, e), s));
  }
}

/** One latentSize-wide row per image, row-major, from `rows` run batch by batch. */
function latentRows(model: Autoencoder, set: ImageSet, options: InferenceOptions, rows: (x: Tensor4D) => Tensor2D): Float32Array {
  checkImageSet(set, model.spec.inputShape);
  const out = new Float32Array(set.count * model.latentSize);
  forEachBatch(set, options.batchSize ?? 1000, (x, s) => out.set(rows(x).dataSync(), s * model.latentSize));
  return out;
}

/** Latent vectors, row-major [count × latentSize]. */
export function encodeImages(model: Autoencoder, set: ImageSet, options: InferenceOptions = {}): Float32Array {
  return latentRows(model, set, options, (x) => model.encode(x));
}

/** Images → the codes the search head is fitted on and starts from (`Autoencoder.searchCode`). */
export function searchCodes(model: Autoencoder, set: ImageSet, options: InferenceOptions = {}): Float32Array {
  return latentRows(model, set, options, (x) => model.searchCode(x));
}

/**
 * The vectors the library stores and searches, row-major [count × latentSize]: the codes through
 * the model's search head where it has one (`Autoencoder.embed`), else the codes.
 */
export function embedImages(model: Autoencoder, set: ImageSet, options: InferenceOptions = {}): Float32Array {
  return latentRows(model, set, options, (x) => model.embed(x));
}

/** Reconstructions in [0,1] (sigmoid output), same layout as the input. */
export function reconstructImages(model: Autoencoder, set: ImageSet, options: InferenceOptions = {}): Float32Array {
  checkImageSet(set, model.spec.inputShape);
  const size = imageSize(set);
  const out = new Float32Array(set.count * size);
  forEachBatch(set, options.batchSize ?? 1000, (x, s) => out.set(model.forward(x).output.dataSync(), s * size));
  return out;
}

/** Per-image mean squared reconstruction error. */
export function reconstructionErrors(model: Autoencoder, set: ImageSet, options: InferenceOptions = {}): Float32Array {
  checkImageSet(set, model.spec.inputShape);
  const out = new Float32Array(set.count);
  forEachBatch(set, options.batchSize ?? 1000, (x, s) => {
    const err = tf.mean(tf.squaredDifference(model.forward(x).output, x), [1, 2, 3]);
    out.set(err.dataSync(), s);
  });
  return out;
}

/**
 * Denoises images with a (denoising) autoencoder. With `noiseFactor`, Gaussian noise is added
 * first (seeded), so a UI can show noisy → denoised; returns both.
 */
export function denoiseImages(
  model: Autoencoder,
  set: ImageSet,
  options: InferenceOptions & { noiseFactor?: number; seed?: number } = {},
): { noisy: Float32Array; denoised: Float32Array } {
  checkImageSet(set, model.spec.inputShape);
  const size = imageSize(set);
  const noisy = new Float32Array(set.count * size);
  const denoised = new Float32Array(set.count * size);
  forEachBatch(set, options.batchSize ?? 1000, (x, s) => {
    const input = options.noiseFactor ? addNoise(x, options.noiseFactor, (options.seed ?? 1) + s) : x;
    noisy.set(input.dataSync(), s * size);
    denoised.set(model.forward(input).output.dataSync(), s * size);
  });
  return { noisy, denoised };
}

/** Images decoded from latent vectors [count × latentSize]. */
export function decodeCodes(model: Autoencoder, codes: Float32Array): Float32Array {
  if (codes.length % model.latentSize !== 0)
    throw new Error(`codes length ${codes.length} is not a multiple of latent size ${model.latentSize}`);
  return tf.tidy(() => model.decode(tf.tensor2d(codes, [codes.length / model.latentSize, model.latentSize])).dataSync() as Float32Array);
}
