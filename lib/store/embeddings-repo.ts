/**
 * Latent vectors per image and model, as float32 blobs. The HNSW index is rebuilt from here.
 */
import { AppError } from '../errors';
import { liveCount, statement, type Db } from './database';

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

/** A run of stored vectors: `ids[i]`'s vector is row i of `vectors` (row-major, `dim` wide). */
export interface EmbeddingChunk {
  ids: number[];
  vectors: Float32Array;
}

/** Rows per chunk read from SQLite: 16,384 × 64 floats = 4 MiB at a time. */
export const EMBEDDING_CHUNK_ROWS = 16_384;

/**
 * Every live image's vector under `modelId`, in image-id order, as chunks of up to `chunkRows`
 * rows in one typed array each — never one small array per vector. Each chunk is its own keyset
 * query (`image_id > last`), so no statement stays open between chunks.
 */
export function* embeddingChunks(db: Db, modelId: number, dim: number, chunkRows = EMBEDDING_CHUNK_ROWS): Generator<EmbeddingChunk> {
  if (!Number.isInteger(chunkRows) || chunkRows < 1)
    throw new AppError('invalid_input', `chunk rows must be a positive integer; got ${chunkRows}`);
  const stmt = statement(
    db,
    `SELECT e.image_id, e.vector FROM embeddings e JOIN images i ON i.id = e.image_id
     WHERE e.model_id = ? AND e.image_id > ? AND i.deleted_at IS NULL ORDER BY e.image_id LIMIT ?`,
  ).raw(true);
  for (let after = 0; ;) {
    const rows = stmt.all(modelId, after, chunkRows) as [number, Buffer][];
    if (rows.length === 0) return;
    const ids = new Array<number>(rows.length);
    const vectors = new Float32Array(rows.length * dim);
    rows.forEach(([imageId, blob], r) => {
      if (blob.byteLength !== dim * 4)
        throw new AppError('internal', `embedding of image ${imageId} has ${blob.byteLength / 4} values, expected ${dim}`);
      ids[r] = imageId;
      vectors.set(new Float32Array(blob.buffer, blob.byteOffset, dim), r * dim);
    });
    yield { ids, vectors };
    if (rows.length < chunkRows) return;
    after = ids[rows.length - 1]!;
  }
}

/**
 * Every live vector under `modelId` in one row-major Float32Array (allocated once, at its final
 * size, from a consistent snapshot), with the image ids in order.
 */
export function readEmbeddings(
  db: Db,
  modelId: number,
  dim: number,
  chunkRows = EMBEDDING_CHUNK_ROWS,
): { ids: number[]; data: Float32Array } {
  // One read transaction: the count and the chunks see the same rows while writers go on.
  return db.transaction(() => {
    const count = countEmbeddings(db, modelId);
    const ids: number[] = [];
    const data = new Float32Array(count * dim);
    for (const chunk of embeddingChunks(db, modelId, dim, chunkRows)) {
      data.set(chunk.vectors, ids.length * dim);
      for (const id of chunk.ids) ids.push(id);
    }
    return { ids, data };
  })();
}

/** Every embedding of a live image for `modelId`, in image-id order (views into chunks read as above). */
export function* iterateEmbeddings(db: Db, modelId: number, dim: number): Generator<StoredEmbedding> {
  for (const { ids, vectors } of embeddingChunks(db, modelId, dim)) {
    for (let r = 0; r < ids.length; r++) yield { imageId: ids[r]!, vector: vectors.subarray(r * dim, (r + 1) * dim) };
  }
}

export function countEmbeddings(db: Db, modelId: number): number {
  return liveCount(db, 'embeddings', 'e', 'e.model_id = ?', modelId);
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
