/**
 * The library's half of an ingest or re-embedding done by remote workers: it plans batches of
 * content hashes and commits what comes back. The library stays the only writer of the store, the
 * originals and the index; workers only read originals (by hash, over HTTP) and return vectors.
 *
 * Ingest stages first: each file is read, hashed, checked against the store (known content is a
 * duplicate) and its magic number (a file that is no image never leaves this machine), and its
 * original written durably under its hash — originals first, so a row never points at a missing
 * file. Rows and vectors are committed only when a batch's vectors arrive (`storeIngestBatch`),
 * idempotently; a refused image's staged original is removed again.
 */
import { readFile, rm } from 'node:fs/promises';
import { basename, dirname, relative } from 'node:path';
import { writeFileDurable } from '../durable-file';
import { AppError, isAppError, type ErrorCode } from '../errors';
import { DEFAULT_DECODE_LIMITS } from '../images/image-decoder';
import { sniffImageFormat } from '../images/image-format';
import { imagesWithoutEmbedding } from '../store/embeddings-repo';
import { findImageByHash, getImages, hashReferenced, knownHashes, type Modality } from '../store/images-repo';
import type { ModelRecord } from '../store/models-repo';
import type { BatchImage, BatchOutcome } from './batch-embedding';
import { contentHash, dicomLabels, KNOWN_HASHES_BULK, listImageFiles, lookupHashes, storeEmbeddings, storeImages } from './ingest-service';
import { originalPath, type Library } from './library';
import { modelIndex } from './model-service';

/** An image staged for a remote batch: its original is stored under `hash`; no row yet. */
export interface StagedImage extends BatchImage {
  labels: string[];
}

export interface StageReport {
  total: number;
  duplicates: number;
  skipped: { name: string; reason: string; code: ErrorCode }[];
}

export interface StageOptions {
  /** Label each image with the name of its parent folder. Default false. */
  labelFromFolder?: boolean;
  /** Files in subfolders too (as `ingestFolder`). Default true. */
  recursive?: boolean;
  /** Images per batch. Default 200. */
  batchSize?: number;
  /** Files read, hashed and written at once. Default 8. */
  concurrency?: number;
  signal?: AbortSignal;
}

/**
 * Stages every file under `dir` and yields them in batches of new content; `report` counts
 * duplicates and refusals as it goes (complete once the generator ends). Aborted, it stops staging
 * and yields what it staged, so the caller can remove those originals again.
 */
export async function* stageFolder(
  library: Library,
  dir: string,
  report: StageReport,
  options: StageOptions = {},
): AsyncGenerator<StagedImage[]> {
  const files = await listImageFiles(dir, { recursive: options.recursive ?? true });
  report.total = files.length;
  const known = files.length >= KNOWN_HASHES_BULK ? knownHashes(library.db) : lookupHashes(library);
  const batchSize = options.batchSize ?? 200;
  const concurrency = options.concurrency ?? 8;
  let batch: StagedImage[] = [];
  for (let s = 0; s < files.length; s += concurrency) {
    if (options.signal?.aborted) break; // what is staged still goes out: the caller discards it
    const chunk = files.slice(s, s + concurrency);
    const staged = await Promise.all(chunk.map((file) => stageFile(library, dir, file, options)));
    for (const [i, outcome] of staged.entries()) {
      const name = relative(dir, chunk[i]!);
      if ('code' in outcome) report.skipped.push({ name, reason: outcome.reason, code: outcome.code });
      else if (known.has(outcome.hash)) report.duplicates++;
      else {
        known.add(outcome.hash);
        batch.push(outcome);
      }
      if (batch.length >= batchSize) {
        yield batch;
        batch = [];
      }
    }
  }
  if (batch.length) yield batch;
}

async function stageFile(
  library: Library,
  dir: string,
  file: string,
  options: StageOptions,
): Promise<StagedImage | { code: ErrorCode; reason: string }> {
  const name = relative(dir, file);
  try {
    const bytes = await readFile(file);
    if (bytes.length > DEFAULT_DECODE_LIMITS.maxBytes)
      throw new AppError('invalid_input', `file is ${bytes.length} bytes; the limit is ${DEFAULT_DECODE_LIMITS.maxBytes}`);
    sniffImageFormat(bytes);
    const hash = contentHash(bytes);
    if (!findImageByHash(library.db, hash)) await writeFileDurable(originalPath(library.config, hash), bytes);
    const labels = options.labelFromFolder && dirname(name) !== '.' ? [basename(dirname(name))] : [];
    return { hash, name, labels };
  } catch (error) {
    return {
      code: isAppError(error) ? error.code : 'invalid_input',
      reason: isAppError(error) ? error.message : `cannot read: ${(error as Error).message}`,
    };
  }
}

/**
 * Commits a batch's vectors: rows for the images embedded (content already stored is left alone,
 * so a batch delivered twice stores nothing twice), the staged originals of refused images removed.
 */
export async function storeIngestBatch(
  library: Library,
  model: ModelRecord,
  batch: readonly StagedImage[],
  outcome: BatchOutcome,
  modality: Exclude<Modality, 'dicom'>,
): Promise<{ added: number[]; duplicates: number; skipped: StageReport['skipped'] }> {
  const byHash = new Map(batch.map((image) => [image.hash, image]));
  const images = outcome.embedded.flatMap((e) => {
    const staged = byHash.get(e.hash);
    if (!staged) return [];
    checkDimension(model, e.vector);
    return [{ ...e, name: staged.name, labels: [...staged.labels, ...dicomLabels(e.metadata)] }]; // as ingestFolder labels them
  });
  const added = storeImages(library, { model, opened: modelIndex(library, model) }, images, modality);
  const skipped = outcome.refused.flatMap((r) => {
    const staged = byHash.get(r.hash);
    return staged ? [{ name: staged.name, reason: r.reason, code: r.code }] : [];
  });
  await discardStaged(
    library,
    outcome.refused.map((r) => r.hash),
  );
  return { added, duplicates: images.length - added.length, skipped };
}

/** Removes staged originals that no row names (refused, or left by a cancelled ingest). */
export async function discardStaged(library: Library, hashes: readonly string[]): Promise<void> {
  for (const hash of hashes) {
    if (!hashReferenced(library.db, hash)) await rm(originalPath(library.config, hash), { force: true });
  }
}

/** The stored images without a vector under `model`, in batches (ids kept by hash for the return). */
export function* embedBatches(library: Library, model: ModelRecord, batchSize = 200): Generator<BatchImage[]> {
  const missing = imagesWithoutEmbedding(library.db, model.id);
  for (let s = 0; s < missing.length; s += batchSize) {
    const images = getImages(library.db, missing.slice(s, s + batchSize));
    yield [...images.values()].map((image) => ({ hash: image.contentHash, name: image.originalName ?? `image ${image.id}` }));
  }
}

/**
 * Commits vectors of stored images under `model`; an image deleted meanwhile, or already with a
 * vector (a batch delivered twice), is left out. Returns how many were stored and which failed.
 */
export function storeEmbedBatch(
  library: Library,
  model: ModelRecord,
  outcome: BatchOutcome,
): { embedded: number; failed: { id: number; reason: string }[] } {
  const computed = outcome.embedded.flatMap((e) => {
    const image = findImageByHash(library.db, e.hash);
    if (!image) return [];
    checkDimension(model, e.vector);
    return [{ id: image.id, vector: e.vector }];
  });
  const embedded = storeEmbeddings(library, { model, opened: modelIndex(library, model) }, computed);
  const failed = outcome.refused.flatMap((r) => {
    const image = findImageByHash(library.db, r.hash);
    return image ? [{ id: image.id, reason: r.reason }] : [];
  });
  return { embedded, failed };
}

function checkDimension(model: ModelRecord, vector: Float32Array): void {
  if (vector.length !== model.latentSize)
    throw new AppError(
      'invalid_input',
      `a worker returned a vector of ${vector.length} values; model ${model.name} makes ${model.latentSize}`,
    );
}
