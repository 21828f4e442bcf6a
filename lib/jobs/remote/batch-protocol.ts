/**
 * What travels through Redis between the library and remote workers. Two kinds of batch: images
 * to embed (content hashes, the model asked for by id and fingerprint; the result says per image a
 * vector or the reason it was refused), and a block of a near-duplicate search (image ids and
 * their vectors, the index snapshot to search by file name and sha-256; the result is each row's
 * nearest neighbours). Both sides validate with these schemas — a result is data from another
 * machine, and is checked before anything of it is stored. Vectors, ids and distances travel as
 * base64 bytes (float32, int32, little-endian): exact, and a quarter of the size of JSON numbers.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { AppError, ERROR_STATUS, type ErrorCode } from '../../errors';
import { MODEL_INPUT_VERSION } from '../../images/image-decoder';
import type { BatchOutcome } from '../../services/batch-embedding';
import type { NeighborLists } from '../../services/duplicates-service';
import { DISTANCE_SPACES } from '../../vectors/distance';
import { parseOrThrow } from '../../validation';

/** The BullMQ queue every batch goes through (one Redis, or one Redis database, per library). */
export const BATCH_QUEUE = 'latent-atlas-batches';

/** Redis key whose presence tells every worker to drop the run's batches (cancel). */
export const cancelKey = (run: string): string => `latent-atlas:cancelled:${run}`;

const hash = z.string().regex(/^[0-9a-f]{64}$/, 'a sha-256 in hex');

/** The library's job a batch belongs to, e.g. 'ingest-12' (also a folder name: the snapshot of a duplicates run). */
export const runName = z.string().regex(/^[a-z]+-\d+$/);
const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/);

const imageBatchSchema = z.strictObject({
  run: runName,
  mode: z.enum(['ingest', 'embed']),
  model: z.strictObject({ id: z.number().int().min(1), fingerprint: z.string().regex(/^[0-9a-f]{16}$/) }),
  /** How the library prepares model inputs (MODEL_INPUT_VERSION); the worker must prepare them the same way (checkInputVersion). */
  inputVersion: z.number().int().min(1),
  includePatient: z.boolean(),
  images: z.array(z.strictObject({ hash, name: z.string().max(4096) })).min(1),
});
export type ImageBatch = z.infer<typeof imageBatchSchema>;

/** A file of an index snapshot, as the app serves it (GET /api/remote/snapshots/<run>/<name>). */
export const snapshotFileName = z
  .string()
  .max(200)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a plain file name');

const neighborBatchSchema = z.strictObject({
  run: runName,
  mode: z.literal('neighbors'),
  /** The index to search: a snapshot the app wrote for this run (VectorIndex.snapshot). */
  snapshot: z.strictObject({
    generation: z.number().int(),
    dim: z.number().int().min(1).max(65_536),
    space: z.enum(DISTANCE_SPACES),
    files: z
      .array(z.strictObject({ name: snapshotFileName, sha256: hash }))
      .min(1)
      .max(16),
  }),
  neighbors: z.number().int().min(1).max(100),
  /** The block's image ids (int32) and their vectors (float32, row-major, `dim` each). */
  ids: base64.min(1),
  vectors: base64.min(1),
});
export type NeighborBatch = z.infer<typeof neighborBatchSchema>;

export const batchDataSchema = z.union([imageBatchSchema, neighborBatchSchema]);
export type BatchData = z.infer<typeof batchDataSchema>;

const resultSchema = z.strictObject({
  worker: z.string().max(200),
  embedded: z.array(
    z.strictObject({
      hash,
      format: z.string().max(20),
      width: z.number().int().min(1),
      height: z.number().int().min(1),
      byteSize: z.number().int().min(1),
      metadata: z.record(z.string(), z.union([z.string(), z.number()])),
      vector: base64,
    }),
  ),
  refused: z.array(
    z.strictObject({
      hash,
      code: z.enum(Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]]),
      reason: z.string().max(2000),
    }),
  ),
});
export type BatchResult = z.infer<typeof resultSchema>;

const neighborResultSchema = z.strictObject({ worker: z.string().max(200), ids: base64, distances: base64 });

/**
 * Refuses a batch from a library that prepares model inputs another way than this worker
 * (image-decoder.ts MODEL_INPUT_VERSION): its vectors would sit beside ones made another way, and
 * the library would count them as current. A worker older than this field refuses such batches
 * already (its schema is strict). AppError('conflict').
 */
export function checkInputVersion(batch: Pick<ImageBatch, 'inputVersion'>, worker: string): void {
  if (batch.inputVersion !== MODEL_INPUT_VERSION)
    throw new AppError(
      'conflict',
      `worker ${worker} prepares model inputs by version ${MODEL_INPUT_VERSION}; this library uses version ${batch.inputVersion}: ` +
        'run the same release of Latent Atlas on the workers as on the library',
    );
}

/**
 * The BullMQ job id of a batch: its run and what names its content (the images' hashes; a block's
 * ids), so adding the same batch again is a no-op.
 */
export function batchJobId(run: string, content: readonly string[]): string {
  const digest = createHash('sha256');
  for (const part of content) digest.update(part);
  return `${run}.${digest.digest('hex').slice(0, 24)}`;
}

/** Typed array bytes as base64 (little-endian, as every machine this runs on stores them). */
export function toBase64(values: Float32Array | Int32Array): string {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64');
}

/** base64 back to a typed array; AppError('invalid_input') when the bytes are not `count` values (when given). */
export function fromBase64<T extends Float32Array | Int32Array>(
  text: string,
  Type: { new (length: number): T; BYTES_PER_ELEMENT: number },
  count?: number,
): T {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.byteLength % Type.BYTES_PER_ELEMENT !== 0 || (count !== undefined && bytes.byteLength !== count * Type.BYTES_PER_ELEMENT))
    throw new AppError(
      'invalid_input',
      `expected ${count ?? 'whole'} values of ${Type.BYTES_PER_ELEMENT} bytes, got ${bytes.byteLength} bytes`,
    );
  const values = new Type(bytes.byteLength / Type.BYTES_PER_ELEMENT);
  new Uint8Array(values.buffer).set(bytes);
  return values;
}

/** A worker's outcome as the job's return value. */
export function encodeResult(outcome: BatchOutcome, worker: string): BatchResult {
  return {
    worker,
    embedded: outcome.embedded.map(({ vector, ...rest }) => ({ ...rest, vector: toBase64(vector) })),
    refused: outcome.refused,
  };
}

/** A job's return value, checked, back to an outcome (vectors as Float32Array). */
export function decodeResult(value: unknown): BatchOutcome & { worker: string } {
  const result = parseOrThrow(resultSchema, value, 'batch result');
  return {
    worker: result.worker,
    embedded: result.embedded.map(({ vector, ...rest }) => ({ ...rest, vector: fromBase64(vector, Float32Array) })),
    refused: result.refused,
  };
}

/** A block's neighbour lists as the job's return value. */
export function encodeNeighbors(lists: NeighborLists, worker: string): z.infer<typeof neighborResultSchema> {
  return { worker, ids: toBase64(lists.ids), distances: toBase64(lists.distances) };
}

/** A block's return value, checked: `rows` rows of `neighbors` ids and distances. */
export function decodeNeighbors(value: unknown, rows: number, neighbors: number): NeighborLists & { worker: string } {
  const result = parseOrThrow(neighborResultSchema, value, 'neighbour lists');
  return {
    worker: result.worker,
    neighbors,
    ids: fromBase64(result.ids, Int32Array, rows * neighbors),
    distances: fromBase64(result.distances, Float32Array, rows * neighbors),
  };
}
