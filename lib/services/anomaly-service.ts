/**
 * Anomalies: the images the active autoencoder reconstructs worst (highest mean squared
 * reconstruction error) — a cheap outlier detector that matters for medical images. Errors are
 * computed once per image and model, from the stored originals, and kept beside the vectors.
 */
import { readFile } from 'node:fs/promises';
import { AppError } from '../errors';
import { prepareImage } from '../images/image-decoder';
import { reconstructionErrors } from '../models/inference';
import { immediate } from '../store/database';
import { getImage, getImages, type ImageRecord } from '../store/images-repo';
import { originalPath, type Library } from './library';
import { loadActiveModel } from './model-service';

export interface Anomaly {
  image: ImageRecord;
  error: number;
}

/** Fills in the reconstruction error of every embedded image that lacks one. Returns how many. */
export async function computeReconstructionErrors(
  library: Library,
  options: { batchSize?: number; signal?: AbortSignal } = {},
): Promise<number> {
  const { record, model } = await loadActiveModel(library);
  const missing = library.db
    .prepare(
      `SELECT e.image_id FROM embeddings e JOIN images i ON i.id = e.image_id
    WHERE e.model_id = ? AND e.recon_error IS NULL AND i.deleted_at IS NULL ORDER BY e.image_id`,
    )
    .pluck()
    .all(record.id) as number[];
  const [height, width, channels] = model.spec.inputShape;
  const size = height * width * channels;
  const batchSize = options.batchSize ?? 256;
  const update = library.db.prepare('UPDATE embeddings SET recon_error = ? WHERE image_id = ? AND model_id = ?');
  for (let s = 0; s < missing.length; s += batchSize) {
    if (options.signal?.aborted) throw new AppError('cancelled', 'computing reconstruction errors was cancelled');
    const ids: number[] = [];
    const pixels = new Uint8Array(Math.min(batchSize, missing.length - s) * size);
    for (const id of missing.slice(s, s + batchSize)) {
      const image = getImage(library.db, id);
      if (!image) continue;
      const prepared = await prepareImage(await readFile(originalPath(library.config, image.contentHash)), {
        target: { height, width, channels },
      });
      pixels.set(prepared.pixels, ids.length * size);
      ids.push(id);
    }
    const errors = reconstructionErrors(model, {
      pixels: pixels.subarray(0, ids.length * size),
      count: ids.length,
      height,
      width,
      channels,
    });
    immediate(library.db, () => ids.forEach((id, i) => update.run(errors[i]!, id, record.id)));
  }
  return missing.length;
}

/** The `top` worst-reconstructed images under the active model, worst first. */
export async function findAnomalies(library: Library, top = 20): Promise<Anomaly[]> {
  if (!Number.isInteger(top) || top < 1 || top > 10_000)
    throw new AppError('invalid_input', `top must be an integer from 1 to 10000; got ${top}`);
  await computeReconstructionErrors(library);
  const { record } = await loadActiveModel(library);
  const rows = library.db
    .prepare(
      `SELECT e.image_id AS id, e.recon_error AS error FROM embeddings e JOIN images i ON i.id = e.image_id
    WHERE e.model_id = ? AND i.deleted_at IS NULL AND e.recon_error IS NOT NULL ORDER BY e.recon_error DESC LIMIT ?`,
    )
    .all(record.id, top) as { id: number; error: number }[];
  const images = getImages(
    library.db,
    rows.map((r) => r.id),
  );
  return rows.filter((r) => images.has(r.id)).map((r) => ({ image: images.get(r.id)!, error: r.error }));
}
