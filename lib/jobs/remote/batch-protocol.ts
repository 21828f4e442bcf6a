/**
 * What travels through Redis between the library and remote workers: a batch (content hashes, the
 * model asked for by id and fingerprint) and its result (per image, a vector or the reason it was
 * refused). Both sides validate with these schemas — a result is data from another machine, and
 * is checked before anything of it is stored. Vectors travel as base64 float32 bytes: exact, and
 * a quarter of the size of JSON numbers.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ERROR_STATUS, type ErrorCode } from '../../errors';
import type { BatchOutcome } from '../../services/batch-embedding';
import { parseOrThrow } from '../../validation';

/** The BullMQ queue every batch goes through (one Redis, or one Redis database, per library). */
export const BATCH_QUEUE = 'latent-atlas-batches';

/** Redis key whose presence tells every worker to drop the run's batches (cancel). */
export const cancelKey = (run: string): string => `latent-atlas:cancelled:${run}`;

const hash = z.string().regex(/^[0-9a-f]{64}$/, 'a sha-256 in hex');

export const batchDataSchema = z.strictObject({
  /** The library's job this batch belongs to, e.g. 'ingest-12'. */
  run: z.string().regex(/^[a-z]+-\d+$/),
  mode: z.enum(['ingest', 'embed']),
  model: z.strictObject({ id: z.number().int().min(1), fingerprint: z.string().regex(/^[0-9a-f]{16}$/) }),
  includePatient: z.boolean(),
  images: z.array(z.strictObject({ hash, name: z.string().max(4096) })).min(1),
});
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
      vector: z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/),
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

/** The BullMQ job id of a batch: its run and its content, so adding the same batch again is a no-op. */
export function batchJobId(run: string, images: readonly { hash: string }[]): string {
  const digest = createHash('sha256');
  for (const image of images) digest.update(image.hash);
  return `${run}.${digest.digest('hex').slice(0, 24)}`;
}

/** A worker's outcome as the job's return value. */
export function encodeResult(outcome: BatchOutcome, worker: string): BatchResult {
  return {
    worker,
    embedded: outcome.embedded.map(({ vector, ...rest }) => ({
      ...rest,
      vector: Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).toString('base64'),
    })),
    refused: outcome.refused,
  };
}

/** A job's return value, checked, back to an outcome (vectors as Float32Array). */
export function decodeResult(value: unknown): BatchOutcome & { worker: string } {
  const result = parseOrThrow(resultSchema, value, 'batch result');
  return {
    worker: result.worker,
    embedded: result.embedded.map(({ vector, ...rest }) => {
      const bytes = Buffer.from(vector, 'base64');
      const floats = new Float32Array(bytes.byteLength / 4);
      new Uint8Array(floats.buffer).set(bytes.subarray(0, floats.byteLength));
      return { ...rest, vector: floats };
    }),
    refused: result.refused,
  };
}
