/**
 * Outliers as the store ranks them: live images by reconstruction error under a model (kept beside
 * their vectors), or by distance to their cluster's centre in a clustering run — both worst first,
 * in keyset pages of (value, id) so a page deep in a large library costs what the first one does.
 */
import { immediate, liveCount, statement, type Db } from './database';

export interface OutlierRow {
  imageId: number;
  value: number;
}

/** Where a page starts: after this (value, id) in descending order. */
export interface OutlierCursor {
  value: number;
  imageId: number;
}

export interface OutlierRows {
  rows: OutlierRow[];
  total: number;
  nextCursor: OutlierCursor | null;
}

function page(rows: OutlierRow[], total: number, limit: number): OutlierRows {
  const shown = rows.slice(0, limit);
  const last = shown[shown.length - 1];
  return { rows: shown, total, nextCursor: rows.length > limit && last ? { value: last.value, imageId: last.imageId } : null };
}

/** The three bound values of an optional cursor: (flag, value, id), the flag null for the first page. */
function cursorArgs(after: OutlierCursor | undefined): [number | null, number | null, number | null] {
  return after ? [1, after.value, after.imageId] : [null, null, null];
}

/** Live images embedded under `modelId` whose reconstruction error is not known yet. */
export function imagesWithoutReconError(db: Db, modelId: number): number[] {
  return statement(
    db,
    `SELECT e.image_id FROM embeddings e JOIN images i ON i.id = e.image_id
     WHERE e.model_id = ? AND e.recon_error IS NULL AND i.deleted_at IS NULL ORDER BY e.image_id`,
  )
    .pluck()
    .all(modelId) as number[];
}

/** Records reconstruction errors under `modelId`, in one transaction. */
export function setReconErrors(db: Db, modelId: number, errors: readonly OutlierRow[]): void {
  const update = statement(db, 'UPDATE embeddings SET recon_error = ? WHERE image_id = ? AND model_id = ?');
  immediate(db, () => errors.forEach((e) => update.run(e.value, e.imageId, modelId)));
}

/** Live images by reconstruction error under `modelId`, worst first. */
export function worstReconstructed(db: Db, modelId: number, options: { limit: number; after?: OutlierCursor }): OutlierRows {
  const after = cursorArgs(options.after);
  const total = liveCount(db, 'embeddings', 'e', 'e.model_id = ? AND e.recon_error IS NOT NULL', modelId);
  const rows = statement(
    db,
    `SELECT e.image_id AS imageId, e.recon_error AS value FROM embeddings e JOIN images i ON i.id = e.image_id
     WHERE e.model_id = ? AND e.recon_error IS NOT NULL AND i.deleted_at IS NULL AND (? IS NULL OR (e.recon_error, e.image_id) < (?, ?))
     ORDER BY e.recon_error DESC, e.image_id DESC LIMIT ?`,
  ).all(modelId, ...after, options.limit + 1) as OutlierRow[];
  return page(rows, total, options.limit);
}

/** Live images of clustering run `runId` by distance to their cluster's centre, farthest first. */
export function farthestFromCentres(db: Db, runId: number, options: { limit: number; after?: OutlierCursor }): OutlierRows {
  const after = cursorArgs(options.after);
  const total = liveCount(db, 'cluster_assignments', 'a', 'a.run_id = ?', runId);
  const rows = statement(
    db,
    `SELECT a.image_id AS imageId, a.distance AS value FROM cluster_assignments a JOIN images i ON i.id = a.image_id
     WHERE a.run_id = ? AND i.deleted_at IS NULL AND (? IS NULL OR (a.distance, a.image_id) < (?, ?))
     ORDER BY a.distance DESC, a.image_id DESC LIMIT ?`,
  ).all(runId, ...after, options.limit + 1) as OutlierRow[];
  return page(rows, total, options.limit);
}
