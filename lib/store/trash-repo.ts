/**
 * The trash: images a review deleted, restorable until the trash is emptied. A trashed image is
 * soft-deleted like any other (gone from listings, search and every index) while its vectors wait
 * here and its original stays on disk. Indexes never take a deleted id back, so a restored image
 * returns under a new id, with its labels, metadata and vectors.
 */
import { immediate, statement, type Db } from './database';
import { deleteImage, toImageRecord, type ImageRecord, type ImageRow } from './images-repo';

export interface TrashedImage {
  image: ImageRecord;
  /** The job that moved it here (null when moved by hand). */
  jobId: number | null;
  trashedAt: string;
}

/**
 * Moves live images to the trash, each in the same transaction as its soft delete: vectors saved,
 * then the image deleted (its index generations move on). Returns the ids trashed (absent or
 * already deleted ones are skipped).
 */
export function trashImages(db: Db, ids: readonly number[], jobId: number | null): number[] {
  return immediate(db, () => {
    const trashed: number[] = [];
    const now = new Date().toISOString();
    for (const id of ids) {
      const live = statement(db, 'SELECT 1 FROM images WHERE id = ? AND deleted_at IS NULL').get(id);
      if (!live) continue;
      statement(db, 'INSERT OR REPLACE INTO trash (image_id, job_id, trashed_at) VALUES (?, ?, ?)').run(id, jobId, now);
      statement(
        db,
        `INSERT OR REPLACE INTO trash_embeddings (image_id, model_id, vector, recon_error)
         SELECT image_id, model_id, vector, recon_error FROM embeddings WHERE image_id = ?`,
      ).run(id);
      if (deleteImage(db, id)) trashed.push(id);
    }
    return trashed;
  });
}

/** Trashed images (newest first), those of `jobId` only when given. */
export function listTrash(db: Db, options: { jobId?: number; limit?: number } = {}): TrashedImage[] {
  const rows = statement(
    db,
    `SELECT i.*, t.job_id AS trash_job_id, t.trashed_at AS trash_trashed_at FROM trash t JOIN images i ON i.id = t.image_id
     WHERE (? IS NULL OR t.job_id = ?) ORDER BY t.trashed_at DESC, i.id DESC LIMIT ?`,
  ).all(options.jobId ?? null, options.jobId ?? null, options.limit ?? 1000) as (ImageRow & {
    trash_job_id: number | null;
    trash_trashed_at: string;
  })[];
  return rows.map((row) => ({ image: toImageRecord(row), jobId: row.trash_job_id, trashedAt: row.trash_trashed_at }));
}

export function countTrash(db: Db): number {
  return statement(db, 'SELECT count(*) FROM trash').pluck().get() as number;
}

/**
 * Restores trashed images (all of `jobId`'s when given, else `ids`): each comes back under a new
 * id with its labels, metadata and vectors, in one transaction; the index generations of its
 * models move on, so indexes add it. Returns old id → new id.
 */
export function restoreTrash(db: Db, select: { jobId: number } | { ids: readonly number[] }): { from: number; to: number }[] {
  return immediate(db, () => {
    const ids =
      'jobId' in select
        ? (statement(db, 'SELECT image_id FROM trash WHERE job_id = ? ORDER BY image_id').pluck().all(select.jobId) as number[])
        : select.ids;
    const restored: { from: number; to: number }[] = [];
    for (const id of ids) {
      const row = statement(db, 'SELECT i.* FROM trash t JOIN images i ON i.id = t.image_id WHERE t.image_id = ?').get(id) as
        ImageRow | undefined;
      if (!row) continue;
      const vectors = statement(db, 'SELECT model_id, vector, recon_error FROM trash_embeddings WHERE image_id = ?').all(id) as {
        model_id: number;
        vector: Buffer;
        recon_error: number | null;
      }[];
      // The old row goes (with its trash entry and saved vectors); the same content comes back as a new row.
      statement(db, 'DELETE FROM images WHERE id = ?').run(id);
      const to = Number(
        statement(
          db,
          `INSERT INTO images (content_hash, original_name, format, byte_size, width, height, modality, labels, metadata, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(
          row.content_hash,
          row.original_name,
          row.format,
          row.byte_size,
          row.width,
          row.height,
          row.modality,
          row.labels,
          row.metadata,
          row.created_at,
        ).lastInsertRowid,
      );
      for (const v of vectors) {
        statement(db, 'INSERT INTO embeddings (image_id, model_id, vector, recon_error) VALUES (?, ?, ?, ?)').run(
          to,
          v.model_id,
          v.vector,
          v.recon_error,
        );
        statement(db, 'UPDATE models SET index_generation = index_generation + 1 WHERE id = ?').run(v.model_id);
      }
      restored.push({ from: id, to });
    }
    return restored;
  });
}

/**
 * Drops the vectors saved with trashed images under `modelId` (made by a preparation its stored
 * vectors no longer use): an image restored later comes back without one and is embedded again
 * (job-service.ts queueCatchUp). Returns how many were dropped.
 */
export function dropTrashedVectors(db: Db, modelId: number): number {
  return statement(db, 'DELETE FROM trash_embeddings WHERE model_id = ?').run(modelId).changes;
}

/** Deletes every trashed image for good (rows, saved vectors); returns their content hashes, whose files the caller removes. */
export function emptyTrash(db: Db): string[] {
  return immediate(db, () => {
    const hashes = statement(db, 'SELECT i.content_hash FROM trash t JOIN images i ON i.id = t.image_id').pluck().all() as string[];
    statement(db, 'DELETE FROM images WHERE id IN (SELECT image_id FROM trash)').run();
    return hashes;
  });
}
