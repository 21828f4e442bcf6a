/**
 * Anomalies and outliers: the images the active autoencoder reconstructs worst (highest mean
 * squared reconstruction error) — a cheap outlier detector that matters for medical images — and
 * the ones farthest from their cluster's centre in the latest clustering. Errors are computed
 * once per image and model, from the stored originals, and kept beside the vectors.
 */
import { readFile } from 'node:fs/promises';
import { AppError } from '../errors';
import { prepareImage } from '../images/image-decoder';
import { reconstructionErrors } from '../models/inference';
import { listClusterRuns } from '../store/clusters-repo';
import { getImage, getImages, type ImageRecord } from '../store/images-repo';
import {
  farthestFromCentres,
  imagesWithoutReconError,
  setReconErrors,
  worstReconstructed,
  type OutlierCursor,
} from '../store/outliers-repo';
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
  const missing = imagesWithoutReconError(library.db, record.id);
  const [height, width, channels] = model.spec.inputShape;
  const size = height * width * channels;
  const batchSize = options.batchSize ?? 256;
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
    setReconErrors(
      library.db,
      record.id,
      ids.map((imageId, i) => ({ imageId, value: errors[i]! })),
    );
  }
  return missing.length;
}

/** The `top` worst-reconstructed images under the active model, worst first. */
export async function findAnomalies(library: Library, top = 20): Promise<Anomaly[]> {
  if (!Number.isInteger(top) || top < 1 || top > 10_000)
    throw new AppError('invalid_input', `top must be an integer from 1 to 10000; got ${top}`);
  const page = await outlierPage(library, { by: 'reconstruction', limit: top });
  return page.items.map((item) => ({ image: item.image, error: item.value }));
}

/** How an outlier is ranked: reconstruction error under the active model, or distance to its cluster's centre. */
export const OUTLIER_RANKINGS = Object.freeze(['reconstruction', 'centre'] as const);
export type OutlierRanking = (typeof OUTLIER_RANKINGS)[number];

export interface OutlierPage {
  by: OutlierRanking;
  /** The value beside each image: mean squared reconstruction error, or squared distance to the centre. */
  items: { image: ImageRecord; value: number }[];
  total: number;
  nextCursor: OutlierCursor | null;
  /** For `centre`: the clustering run ranked (the latest of the active model). */
  runId: number | null;
}

/**
 * A page of outliers, worst first: by reconstruction error (computed first for images that lack
 * it) or by distance to the centre of their cluster in the active model's latest clustering
 * (AppError('not_found') when there is none yet).
 */
export async function outlierPage(
  library: Library,
  query: { by: OutlierRanking; limit: number; after?: OutlierCursor },
): Promise<OutlierPage> {
  const { record } = await loadActiveModel(library);
  const pageQuery = { limit: query.limit, ...(query.after ? { after: query.after } : {}) };
  let runId: number | null = null;
  let rows;
  if (query.by === 'reconstruction') {
    await computeReconstructionErrors(library);
    rows = worstReconstructed(library.db, record.id, pageQuery);
  } else {
    const run = listClusterRuns(library.db).find((r) => r.modelId === record.id); // newest first
    if (!run) throw new AppError('not_found', 'no clustering of this model yet: run one on the Clusters page, then come back');
    runId = run.id;
    rows = farthestFromCentres(library.db, run.id, pageQuery);
  }
  const images = getImages(
    library.db,
    rows.rows.map((r) => r.imageId),
  );
  return {
    by: query.by,
    items: rows.rows.filter((r) => images.has(r.imageId)).map((r) => ({ image: images.get(r.imageId)!, value: r.value })),
    total: rows.total,
    nextCursor: rows.nextCursor,
    runId,
  };
}
