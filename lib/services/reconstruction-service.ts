/**
 * What the active model makes of a stored image: its latent vector, its reconstruction with the
 * reconstruction error, the denoised output of a noisy copy, and a walk through the latent space
 * between two images (codes along the line between them, decoded) — the views of the image page.
 */
import { readFile } from 'node:fs/promises';
import { AppError } from '../errors';
import { encodePng, encodePngStrip, type PixelImage } from '../images/image-encoder';
import { decodeCodes, denoiseImages, encodeImages } from '../models/inference';
import type { ImageSet } from '../data/image-set';
import { getImage } from '../store/images-repo';
import { originalPath, type Library } from './library';
import { loadActiveModel, storedEmbedding, type LoadedModel } from './model-service';
import { prepareIsolated } from './decoding';

/** Model pixels are enlarged to at least this many pixels on their longest side. */
const VIEW_SIZE = 168;

async function modelInput(library: Library, loaded: LoadedModel, id: number): Promise<ImageSet> {
  const image = getImage(library.db, id);
  if (!image) throw new AppError('not_found', `image ${id} not found`);
  const [height, width, channels] = loaded.model.spec.inputShape;
  const bytes = await readFile(originalPath(library.config, image.contentHash)).catch((error: unknown) => {
    throw new AppError('internal', `the original of image ${id} is missing`, { cause: error });
  });
  const prepared = await prepareIsolated(library, bytes, { target: { height, width, channels } });
  return { pixels: prepared.pixels, count: 1, height, width, channels };
}

function viewScale(set: Pick<ImageSet, 'height' | 'width'>): number {
  return Math.max(1, Math.round(VIEW_SIZE / Math.max(set.height, set.width)));
}

export interface Reconstruction {
  modelId: number;
  /** The stored latent vector of the image. */
  latent: number[];
  /** Mean squared error between the (noisy) input and the output, pixels in [0,1]. */
  error: number;
  /** PNG: the model's input (with noise when asked) and its output, enlarged. */
  input: Buffer;
  output: Buffer;
}

/**
 * The image as the model sees it and as it comes back. `noise` (σ of Gaussian noise in [0,1]
 * pixel units, clipped) shows a denoising model at work; the error is then against the clean input.
 */
export async function reconstructImage(
  library: Library,
  id: number,
  options: { noise?: number; seed?: number } = {},
): Promise<Reconstruction> {
  const noise = options.noise ?? 0;
  if (!Number.isFinite(noise) || noise < 0 || noise > 1) throw new AppError('invalid_input', `noise must be between 0 and 1; got ${noise}`);
  const loaded = await loadActiveModel(library);
  const set = await modelInput(library, loaded, id);
  const latent = Array.from(storedEmbedding(library, loaded.record, id));
  const { noisy, denoised } = denoiseImages(loaded.model, set, { noiseFactor: noise, seed: options.seed ?? 1 });
  let error = 0;
  for (let i = 0; i < denoised.length; i++) error += (denoised[i]! - set.pixels[i]! / 255) ** 2;
  const view = (pixels: Float32Array): PixelImage => ({ pixels, width: set.width, height: set.height, channels: set.channels as 1 | 3 });
  const scale = viewScale(set);
  return {
    modelId: loaded.record.id,
    latent,
    error: error / denoised.length,
    input: await encodePng(view(noisy), scale),
    output: await encodePng(view(denoised), scale),
  };
}

/**
 * A strip of `steps` images decoded from points evenly spaced on the line between two stored
 * images' latent vectors (both ends included): the autoencoder as a generative model.
 */
export async function latentWalk(library: Library, fromId: number, toId: number, steps = 8): Promise<Buffer> {
  if (!Number.isInteger(steps) || steps < 2 || steps > 32)
    throw new AppError('invalid_input', `steps must be an integer from 2 to 32; got ${steps}`);
  const loaded = await loadActiveModel(library);
  // The decoder takes raw codes; stored vectors may have been through the search head.
  const rawCode = async (id: number) => encodeImages(loaded.model, await modelInput(library, loaded, id));
  const a = await rawCode(fromId);
  const b = await rawCode(toId);
  const dim = a.length;
  const codes = new Float32Array(steps * dim);
  for (let s = 0; s < steps; s++) {
    const t = s / (steps - 1);
    for (let j = 0; j < dim; j++) codes[s * dim + j] = (1 - t) * a[j]! + t * b[j]!;
  }
  const decoded = decodeCodes(loaded.model, codes);
  const [height, width, channels] = loaded.model.spec.inputShape;
  const size = height * width * channels;
  const images = Array.from({ length: steps }, (_, s) => ({ pixels: decoded.subarray(s * size, (s + 1) * size), width, height, channels }));
  return encodePngStrip(images, Math.max(1, Math.round(96 / Math.max(height, width))));
}
