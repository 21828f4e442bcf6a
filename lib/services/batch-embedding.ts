/**
 * A batch of stored originals embedded away from the library — the remote worker's half of a
 * distributed ingest or re-embedding. It never touches SQLite or the index: it reads each original
 * by content hash (over HTTP, from the app), checks that the bytes are the ones asked for, decodes
 * and preprocesses them exactly as ingest does (`prepareImage`), embeds them in one pass and says,
 * per image, either what the library must store or why the image is refused.
 */
import { AppError, isAppError, type ErrorCode } from '../errors';
import { prepareImage, type ImageDecode } from '../images/image-decoder';
import type { Autoencoder } from '../models/autoencoder';
import { embedImages } from '../models/inference';
import { contentHash } from './ingest-service';

/** One image of a batch: its content hash (the original's name in the store) and its name, for messages. */
export interface BatchImage {
  hash: string;
  name: string;
}

export interface EmbeddedImage {
  hash: string;
  format: string;
  width: number;
  height: number;
  byteSize: number;
  metadata: Record<string, string | number>;
  vector: Float32Array;
}

export interface RefusedImage {
  hash: string;
  code: ErrorCode;
  reason: string;
}

export type BatchOutcome = { embedded: EmbeddedImage[]; refused: RefusedImage[] };

export interface EmbedBatchOptions {
  /** Originals fetched and decoded at once (sharp runs on its own threads). Default 4. */
  concurrency?: number;
  /** DICOM: keep patient-identifying tags in the metadata. Default false. */
  includePatient?: boolean;
  signal?: AbortSignal;
  /**
   * How a file is decoded. Default: in this process. The staged originals of an ingest were never
   * decoded before: a worker passes its decoder processes (`isolatedDecoder`), so a file that
   * crashes libvips is refused instead of killing the worker (and again the next one given the batch).
   */
  decode?: ImageDecode;
  /** Called after each image is decoded (or refused), with how many are. */
  onProgress?: (done: number) => void;
}

/**
 * Fetches (`read`), decodes and embeds `images` with `model`. A file that cannot be decoded, or
 * whose bytes are not the content asked for, is refused with its reason; an error of `read`
 * itself other than AppError('not_found') (the app unreachable, a refused token) fails the batch.
 */
export async function embedOriginals(
  model: Autoencoder,
  images: readonly BatchImage[],
  read: (hash: string) => Promise<Uint8Array>,
  options: EmbedBatchOptions = {},
): Promise<BatchOutcome> {
  const [height, width, channels] = model.spec.inputShape;
  const size = height * width * channels;
  const decoded: (Omit<EmbeddedImage, 'vector'> & { pixels: Uint8Array })[] = [];
  const refused: RefusedImage[] = [];
  let next = 0;
  const work = async () => {
    while (next < images.length) {
      if (options.signal?.aborted) throw new AppError('cancelled', 'the batch was cancelled');
      const { hash, name } = images[next++]!;
      let bytes: Uint8Array;
      try {
        bytes = await read(hash);
      } catch (error) {
        if (!isAppError(error, 'not_found')) throw error;
        refused.push({ hash, code: 'not_found', reason: `${name}: ${error.message}` });
        options.onProgress?.(decoded.length + refused.length);
        continue;
      }
      try {
        if (contentHash(bytes) !== hash) throw new AppError('invalid_input', 'the bytes received are not the content asked for');
        const image = await (options.decode ?? prepareImage)(bytes, {
          target: { height, width, channels },
          includePatient: options.includePatient ?? false,
        });
        decoded.push({
          hash,
          format: image.format,
          width: image.originalWidth,
          height: image.originalHeight,
          byteSize: bytes.length,
          metadata: image.metadata,
          pixels: image.pixels,
        });
      } catch (error) {
        refused.push({
          hash,
          code: isAppError(error) ? error.code : 'invalid_input',
          reason: isAppError(error) ? error.message : `cannot read: ${(error as Error).message}`,
        });
      }
      options.onProgress?.(decoded.length + refused.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency ?? 4, Math.max(1, images.length)) }, work));
  if (options.signal?.aborted) throw new AppError('cancelled', 'the batch was cancelled');
  const pixels = new Uint8Array(decoded.length * size);
  decoded.forEach((d, i) => pixels.set(d.pixels, i * size));
  const latents = decoded.length ? embedImages(model, { pixels, count: decoded.length, height, width, channels }) : new Float32Array(0);
  const dim = model.latentSize;
  const embedded = decoded.map(({ pixels: _pixels, ...d }, i) => ({ ...d, vector: latents.slice(i * dim, (i + 1) * dim) }));
  return { embedded, refused };
}
