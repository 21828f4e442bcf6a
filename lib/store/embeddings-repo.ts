/**
 * Latent vectors per image and model, as float32 blobs. The HNSW index is rebuilt from here.
 */
import { AppError } from '../errors';
import type { Db } from './database';

export interface StoredEmbedding {
  imageId: number;
  vector: Float32Array;
}

function toBlob(vector: Float32Array): Buffer {
  return Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength);
}

function fromBlob(blob: Buffer, dim: number, imageId: number): Float32Array {
  if (blob.byteLength !== dim * 4)
    throw new AppError('internal', `embedding of image ${imageId} has ${blob.byteLength / 4} values, expected ${dim}`);
  const copy = new Float32Array(dim);
  copy.set(new Float32Array(blob.buffer, blob.byteOffset, dim));
  return copy;
}

/** Writes (or replaces) an embedding; call inside a transaction. */
export function putEmbedding(db: Db, imageId: number, modelId: number, vector: Float32Array, reconError: number | null = null): void {
  db.prepare('INSERT OR REPLACE INTO embeddings (image_id, model_id, vector, recon_error) VALUES (?, ?, ?, ?)').run(
    imageId,
    modelId,
    toBlob(vector),
    reconError,
  );
}

export function getEmbedding(db: Db, imageId: number, modelId: number, dim: number): Float32Array | null {
  const blob = db.prepare('SELECT vector FROM embeddings WHERE image_id = ? AND model_id = ?').pluck().get(imageId, modelId) as
    Buffer | undefined;
  return blob ? fromBlob(blob, dim, imageId) : null;
}

/** Every embedding of a live image for `modelId`, in image-id order. */
export function* iterateEmbeddings(db: Db, modelId: number, dim: number): Generator<StoredEmbedding> {
  const stmt = db.prepare(`SELECT e.image_id AS imageId, e.vector AS vector FROM embeddings e JOIN images i ON i.id = e.image_id
    WHERE e.model_id = ? AND i.deleted_at IS NULL ORDER BY e.image_id`);
  for (const row of stmt.iterate(modelId) as Iterable<{ imageId: number; vector: Buffer }>) {
    yield { imageId: row.imageId, vector: fromBlob(row.vector, dim, row.imageId) };
  }
}

export function countEmbeddings(db: Db, modelId: number): number {
  return db
    .prepare(`SELECT count(*) FROM embeddings e JOIN images i ON i.id = e.image_id WHERE e.model_id = ? AND i.deleted_at IS NULL`)
    .pluck()
    .get(modelId) as number;
}

/** Ids of live images that have no embedding for `modelId` yet. */
export function imagesWithoutEmbedding(db: Db, modelId: number): number[] {
  return db
    .prepare(
      `SELECT id FROM images WHERE deleted_at IS NULL AND id NOT IN (SELECT image_id FROM embeddings WHERE model_id = ?) ORDER BY id`,
    )
    .pluck()
    .all(modelId) as number[];
}
