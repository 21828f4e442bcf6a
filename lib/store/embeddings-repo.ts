/**
 * Latent vectors per image and model, as float32 blobs. The HNSW index is rebuilt from here.
 */
import { AppError } from '../errors';
import { statement, type Db } from './database';

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
/**
 * Stores an image's vector under a model — only while the image is live: a vector computed before
 * a delete (by another process) must not bring the image back into search. Returns whether it was stored.
 */
export function putEmbedding(db: Db, imageId: number, modelId: number, vector: Float32Array, reconError: number | null = null): boolean {
  return (
    statement(
      db,
      `INSERT OR REPLACE INTO embeddings (image_id, model_id, vector, recon_error)
         SELECT ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM images WHERE id = ? AND deleted_at IS NULL)`,
    ).run(imageId, modelId, toBlob(vector), reconError, imageId).changes > 0
  );
}

export function getEmbedding(db: Db, imageId: number, modelId: number, dim: number): Float32Array | null {
  const blob = statement(db, 'SELECT vector FROM embeddings WHERE image_id = ? AND model_id = ?').pluck().get(imageId, modelId) as
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
/** How many live images have no vector under the model. */
export function countImagesWithoutEmbedding(db: Db, modelId: number): number {
  return db
    .prepare(`SELECT count(*) FROM images WHERE deleted_at IS NULL AND id NOT IN (SELECT image_id FROM embeddings WHERE model_id = ?)`)
    .pluck()
    .get(modelId) as number;
}

export function imagesWithoutEmbedding(db: Db, modelId: number): number[] {
  return db
    .prepare(
      `SELECT id FROM images WHERE deleted_at IS NULL AND id NOT IN (SELECT image_id FROM embeddings WHERE model_id = ?) ORDER BY id`,
    )
    .pluck()
    .all(modelId) as number[];
}
