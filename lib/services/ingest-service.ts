/**
 * Bulk ingest: files (or uploaded bytes) → decoded, embedded with the active model, stored
 * (originals by content hash, rows and vectors in SQLite) and indexed. Thumbnails are made once,
 * on first view (`thumbnail-service.ts`), which keeps ingest as fast as decoding.
 *
 * Idempotent and resumable: an image is its content hash, so bytes already stored are skipped
 * before decoding. Crash-safe: files are written before the rows that point at them, rows and
 * vectors commit together with the model's index generation, and the index (a cache) is saved
 * after the commit — a crash in between leaves a stale index that `openModelIndex` reconciles.
 * Corrupt or refused files are skipped and reported, never stopping the run.
 */
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { AppError, isAppError, type ErrorCode } from '../errors';
import { isDicom } from '../images/dicom';
import { deidentifyDicom } from '../images/dicom-deidentify';
import { MODEL_INPUT_VERSION, prepareImage, type PreparedImage } from '../images/image-decoder';
import { decoderPool, prepareIsolated } from './decoding';
import { embedImages } from '../models/inference';
import { ModelWorkerPool } from '../engine/parallel/worker-pool';
import { initEngine } from '../engine/backend';
import { immediate } from '../store/database';
import { getEmbedding, imagesWithoutEmbedding, putEmbedding } from '../store/embeddings-repo';
import {
  findImageByHash,
  getImage,
  insertImage,
  knownHashes,
  liveImageHashes,
  purgeDeletedHash,
  type Modality,
} from '../store/images-repo';
import { activeModel, bumpIndexGeneration, bumpVectorsEpoch, setVectorsInputVersion, vectorsEpoch } from '../store/models-repo';
import { dropTrashedVectors } from '../store/trash-repo';
import { writeFileDurable } from '../durable-file';
import { isCreditFile } from '../credit-files';
import { addImageLabel } from './image-service';
import { originalPath, type Library } from './library';
import { loadActiveModel, loadRegisteredModel, markIndexCurrent, modelIndex, type LoadedModel, type OpenedIndex } from './model-service';
import type { ModelRecord } from '../store/models-repo';

export interface IngestSource {
  name: string;
  read: () => Promise<Uint8Array>;
}

export interface IngestOptions {
  /** Modality of non-DICOM images. Default 'photo'. */
  modality?: Exclude<Modality, 'dicom'>;
  /** Label each image with the name of its parent folder. Default false. */
  labelFromFolder?: boolean;
  /** Images decoded at once (sharp uses its own threads; 2× cores keeps them busy). Default 4. */
  concurrency?: number;
  /** DICOM: store patient-identifying tags (name, id, birth date…) too. Default false. */
  includePatient?: boolean;
  /**
   * DICOM: store the original de-identified by the PS3.15 basic profile (dicom-deidentify.ts), so
   * that neither the library nor a download of the original carries the patient. Default true.
   */
  deidentify?: boolean;
  /** Read files in sub-folders too (folder ingests). Default true. */
  recursive?: boolean;
  /** Images embedded and committed together: small batches overlap commits with decoding. Default 64. */
  batchSize?: number;
  signal?: AbortSignal;
  onProgress?: (progress: IngestProgress) => void;
}

export interface IngestProgress {
  done: number;
  total: number;
  added: number;
  duplicates: number;
  skipped: number;
  imagesPerSec: number;
  etaSeconds: number;
}

export interface IngestReport {
  total: number;
  added: number;
  duplicates: number;
  skipped: { name: string; reason: string; code: ErrorCode }[];
  ids: number[];
  seconds: number;
  /** False when no model was active: the images are stored and get vectors when one is activated. */
  embedded: boolean;
  /** How the index was opened; null without an active model. */
  index: Pick<OpenedIndex, 'rebuilt' | 'reconciled' | 'reason'> | null;
}

interface Decoded {
  name: string;
  hash: string;
  bytes: Uint8Array;
  image: PreparedImage;
  labels: string[];
}

/**
 * Regular files under `dir` (recursively unless told not to); links are not followed, dot files and
 * the set's credits (ATTRIBUTION.md, LICENSE…) are ignored.
 */
export async function listImageFiles(dir: string, options: { recursive?: boolean } = {}): Promise<string[]> {
  const info = await lstat(dir).catch((error: NodeJS.ErrnoException) => {
    throw new AppError('not_found', `folder not found: ${dir}`, { cause: error });
  });
  if (!info.isDirectory()) throw new AppError('invalid_input', `${dir} is not a folder`);
  const entries = await readdir(dir, { withFileTypes: true, recursive: options.recursive ?? true });
  return entries
    .filter(
      (e) =>
        e.isFile() &&
        !e.name.startsWith('.') &&
        !isCreditFile(e.name) &&
        !relative(dir, e.parentPath)
          .split('/')
          .some((p) => p.startsWith('.')),
    )
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** Ingests every file under `dir`. */
export async function ingestFolder(library: Library, dir: string, options: IngestOptions = {}): Promise<IngestReport> {
  const files = await listImageFiles(dir, options);
  return ingestSources(
    library,
    files.map((file) => ({ name: relative(dir, file), read: () => readFile(file) })),
    options,
  );
}

/** Ingests already-read bytes (uploads); `name` is kept as metadata only. */
export async function ingestBytes(library: Library, name: string, bytes: Uint8Array, options: IngestOptions = {}): Promise<IngestReport> {
  return ingestSources(library, [{ name, read: async () => bytes }], options);
}

/** The identity of stored content: the sha-256 of its bytes, as 64 hex characters. */
export function contentHash(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * The bytes stored for a file: a DICOM file de-identified (unless `deidentify` is false), any other
 * as it came. Hashed after this: what is stored is what is hashed, and the same file de-identifies
 * to the same bytes, so importing it again still finds one image.
 */
export function storedForm(bytes: Uint8Array, options: Pick<IngestOptions, 'deidentify'> = {}): Uint8Array {
  return isDicom(bytes) && (options.deidentify ?? true) ? deidentifyDicom(bytes).bytes : bytes;
}

/** One uploaded file's verdict, in upload order. */
export type UploadResult =
  { name: string; status: 'added' | 'duplicate'; id?: number } | { name: string; status: 'refused'; code: ErrorCode; reason: string };

/**
 * The upload's call: each file is ingested on its own, so each gets its own verdict — added,
 * already stored (with the stored image's id), or refused with its reason and error code. With
 * `label`, every added or already stored image carries that label afterwards (added to its others).
 */
export async function ingestUploads(
  library: Library,
  files: readonly { name: string; bytes: Uint8Array }[],
  options: { modality?: Exclude<Modality, 'dicom'>; label?: string } = {},
): Promise<UploadResult[]> {
  if (files.length === 0) throw new AppError('invalid_input', 'the upload holds no files');
  const results: UploadResult[] = [];
  for (const file of files) {
    const report = await ingestBytes(library, file.name, file.bytes, options.modality ? { modality: options.modality } : {});
    const refused = report.skipped[0];
    if (refused) {
      results.push({ name: file.name, status: 'refused', code: refused.code, reason: refused.reason });
      continue;
    }
    const added = report.ids[0];
    const id = added ?? findImageByHash(library.db, contentHash(storedForm(file.bytes)))?.id;
    results.push({ name: file.name, status: added !== undefined ? 'added' : 'duplicate', ...(id ? { id } : {}) });
    if (id && options.label) addImageLabel(library, id, options.label);
  }
  return results;
}

export async function ingestSources(library: Library, sources: IngestSource[], options: IngestOptions = {}): Promise<IngestReport> {
  // The decoder processes start (once per process) while the model loads: the first files do not wait for both.
  decoderPool(library.config);
  // Without an active model yet, images are stored unembedded; activating a model embeds them.
  const loaded = activeModel(library.db) ? await loadActiveModel(library) : null;
  const opened = loaded ? modelIndex(library, loaded.record) : null;
  // A large run loads every stored hash once; a small one (an upload) asks for its few hashes, so
  // that adding one image to a large library costs O(1), not a read of every hash.
  const known = sources.length >= KNOWN_HASHES_BULK ? knownHashes(library.db) : lookupHashes(library);
  const encoder = loaded ? await startEncoder(library, loaded, sources.length) : null;
  const report: IngestReport = {
    total: sources.length,
    added: 0,
    duplicates: 0,
    skipped: [],
    ids: [],
    seconds: 0,
    embedded: loaded !== null,
    index: opened ? { rebuilt: opened.rebuilt, reconciled: opened.reconciled, reason: opened.reason } : null,
  };
  const started = performance.now();
  const batchSize = options.batchSize ?? 64;
  const concurrency = options.concurrency ?? 4;
  let pending: Decoded[] = [];
  let next = 0;
  let done = 0;
  let flushing = Promise.resolve();
  let queued = 0;

  const progress = () => {
    const elapsed = (performance.now() - started) / 1000;
    const rate = done / Math.max(elapsed, 1e-9);
    options.onProgress?.({
      done,
      total: sources.length,
      added: report.added,
      duplicates: report.duplicates,
      skipped: report.skipped.length,
      imagesPerSec: rate,
      etaSeconds: (sources.length - done) / Math.max(rate, 1e-9),
    });
  };
  const flush = async (batch: Decoded[]) => {
    if (!batch.length) return;
    const ids = await commitBatch(library, loaded, opened, encoder, batch, options);
    report.ids.push(...ids);
    report.added += ids.length;
    report.duplicates += batch.length - ids.length;
  };

  const worker = async () => {
    while (next < sources.length && !options.signal?.aborted) {
      const source = sources[next++]!;
      try {
        const bytes = storedForm(await source.read(), options);
        const hash = contentHash(bytes);
        if (known.has(hash)) {
          report.duplicates++;
        } else {
          known.add(hash);
          const image = await prepareIsolated(library, bytes, {
            target: targetOf(loaded),
            includePatient: options.includePatient ?? false,
          });
          const labels = [
            ...(options.labelFromFolder && dirname(source.name) !== '.' ? [basename(dirname(source.name))] : []),
            ...dicomLabels(image.metadata),
          ];
          pending.push({ name: source.name, hash, bytes, image, labels });
          if (pending.length >= batchSize) {
            const batch = pending;
            pending = [];
            flushing = flushing.then(() => flush(batch));
            // Back-pressure: wait only when two batches are already waiting to be committed.
            if (++queued > 1) await flushing;
            const done = () => {
              queued = Math.max(0, queued - 1);
            };
            void flushing.then(done, done);
          }
        }
      } catch (error) {
        report.skipped.push({
          name: source.name,
          reason: error instanceof AppError ? error.message : `cannot read: ${(error as Error).message}`,
          code: error instanceof AppError ? error.code : 'invalid_input',
        });
      }
      done++;
      progress();
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(1, sources.length)) }, worker));
    const batch = pending;
    pending = [];
    flushing = flushing.then(() => flush(batch));
    await flushing;
    progress(); // the final counts, after the last commit
  } finally {
    // Saved as of the generation this index reflects, not the store's latest: another process's
    // changes since then are not in it, and the next open must reconcile them.
    if (opened) saveIndexUnlessDiskFull(opened);
    await encoder?.close();
  }
  report.seconds = (performance.now() - started) / 1000;
  if (options.signal?.aborted)
    throw new AppError('cancelled', `ingest was cancelled after ${done} of ${sources.length} files (${report.added} added and kept)`);
  return report;
}

/**
 * Embeds, with the active model (or `options.model`), every stored image that has no vector under
 * it yet, from the stored originals; resumable, committed in batches. `all`: every live image, its
 * vector replaced — after an upgrade that changed how images are prepared for the model, vectors
 * stored before it were made from slightly different inputs than a query is now.
 */
export async function embedMissing(
  library: Library,
  options: Pick<IngestOptions, 'signal' | 'onProgress' | 'batchSize'> & { model?: ModelRecord; all?: boolean } = {},
): Promise<{ embedded: number; failed: { id: number; reason: string }[] }> {
  const loaded = options.model ? await loadRegisteredModel(library, options.model) : await loadActiveModel(library);
  const opened = modelIndex(library, loaded.record);
  const missing = options.all ? liveImageHashes(library.db).map((i) => i.id) : imagesWithoutEmbedding(library.db, loaded.record.id);
  const [height, width, channels] = loaded.model.spec.inputShape;
  const size = height * width * channels;
  const dim = loaded.record.latentSize;
  const batchSize = options.batchSize ?? 256;
  const failed: { id: number; reason: string }[] = [];
  const started = performance.now();
  let embedded = 0;
  try {
    for (let s = 0; s < missing.length; s += batchSize) {
      if (options.signal?.aborted)
        throw new AppError('cancelled', `embedding was cancelled after ${embedded} of ${missing.length} images (kept)`);
      const ids: number[] = [];
      const pixels = new Uint8Array(Math.min(batchSize, missing.length - s) * size);
      for (const id of missing.slice(s, s + batchSize)) {
        const image = getImage(library.db, id);
        if (!image) continue;
        try {
          // Stored originals, decoded once already under the same limits: the in-process path.
          const prepared = await prepareImage(await readFile(originalPath(library.config, image.contentHash)), {
            target: { height, width, channels },
          });
          pixels.set(prepared.pixels, ids.length * size);
          ids.push(id);
        } catch (error) {
          failed.push({ id, reason: (error as Error).message });
        }
      }
      const latents = embedImages(loaded.model, {
        pixels: pixels.subarray(0, ids.length * size),
        count: ids.length,
        height,
        width,
        channels,
      });
      const computed = ids.map((id, i) => ({ id, vector: latents.slice(i * dim, (i + 1) * dim) }));
      embedded += storeEmbeddings(library, { model: loaded.record, opened }, computed, { replace: options.all ?? false });
      const rate = (s + batchSize) / ((performance.now() - started) / 1000);
      options.onProgress?.({
        done: Math.min(missing.length, s + batchSize),
        total: missing.length,
        added: embedded,
        duplicates: 0,
        skipped: failed.length,
        imagesPerSec: rate,
        etaSeconds: (missing.length - s - batchSize) / rate,
      });
    }
  } finally {
    opened.index.save(opened.generation);
    if (options.all && embedded > 0) {
      // Saved first: other processes reopen the index when the epoch moves (modelIndex).
      bumpVectorsEpoch(library.db, loaded.record.id);
      opened.epoch = vectorsEpoch(library.db, loaded.record.id);
    }
  }
  // Only a run that went through every image (not cancelled, not failed) makes the model current; any
  // other leaves it old, so the worker queues it again (job-service.ts queueInputUpgrade). Images
  // whose originals no longer decode keep the vector they had.
  if (options.all) markVectorsInputCurrent(library, loaded.record.id);
  return { embedded, failed };
}

/**
 * Records that every vector stored under model `modelId` is made with today's model-input
 * preparation (MODEL_INPUT_VERSION): after a completed re-embed of every image, or when it has none.
 * Vectors saved with trashed images were made before, so they go: a restored image is embedded again.
 */
export function markVectorsInputCurrent(library: Library, modelId: number): void {
  immediate(library.db, () => {
    dropTrashedVectors(library.db, modelId);
    setVectorsInputVersion(library.db, modelId, MODEL_INPUT_VERSION);
  });
}

/**
 * Stores vectors of images already in the library under `target.model`, then adds them to the
 * index. Idempotent: images deleted meanwhile (by the web server, say) and images that already
 * have a vector under the model are left out, so a batch delivered twice stores nothing twice.
 * With `replace`, an image's vector is replaced instead (the index moves its point). Returns how
 * many were stored.
 */
export function storeEmbeddings(
  library: Library,
  target: { model: ModelRecord; opened: OpenedIndex },
  computed: readonly { id: number; vector: Float32Array }[],
  options: { replace?: boolean } = {},
): number {
  const { model, opened } = target;
  const { entries, generation } = immediate(library.db, () => {
    const entries = computed.filter(
      (e) =>
        (options.replace || getEmbedding(library.db, e.id, model.id, model.latentSize) === null) &&
        putEmbedding(library.db, e.id, model.id, e.vector),
    );
    return { entries, generation: entries.length ? bumpIndexGeneration(library.db, model.id) : 0 };
  });
  opened.index.add(entries);
  if (generation) markIndexCurrent(opened, generation);
  return entries.length;
}

/** The DICOM attributes kept as metadata that also make labels (filters in Search, the map's colours). */
const DICOM_LABELS = Object.freeze({ modality: 'modality', bodyPart: 'body part', viewPosition: 'view' });

/** Labels from a decoded DICOM's kept attributes: `modality: CT`, `body part: CHEST`, `view: PA`. */
export function dicomLabels(metadata: Record<string, unknown>): string[] {
  return Object.entries(DICOM_LABELS).flatMap(([key, name]) => {
    const value = metadata[key];
    return typeof value === 'string' && value.trim() ? [`${name}: ${value.trim().slice(0, 60)}`] : [];
  });
}

/** Ingests at least this large read every stored hash up front instead of one lookup per file. */
export const KNOWN_HASHES_BULK = 1000;

/** The stored hashes as a set-like view that asks SQLite per hash (plus the ones added in this run). */
export function lookupHashes(library: Library): Pick<Set<string>, 'has' | 'add'> {
  const added = new Set<string>();
  const view = {
    has: (hash: string) => added.has(hash) || findImageByHash(library.db, hash) !== null,
    add: (hash: string) => {
      added.add(hash);
      return view as unknown as Set<string>;
    },
  };
  return view;
}

/**
 * Ingests at least this large embed in a worker thread, so decoding never waits for the model;
 * smaller ones do not repay the thread's start-up (about a second of CPU).
 */
const WORKER_EMBED_MIN = 2000;

/**
 * Images embedded at once on the main thread in a bulk run: small enough that decoding is fed
 * again between slices (a batch of 64 embedded at once held the thread ~0.2 s while sharp's
 * threads ran dry), one shape so the engine's kernels are made once.
 */
const EMBED_SLICE = 16;

interface Encoder {
  encode(pixels: Uint8Array, count: number): Promise<Float32Array>;
  close(): Promise<void>;
}

/**
 * Embedding for an ingest: in one worker thread for large runs (the main thread stays free to keep
 * sharp's decoder threads fed), here for small ones (no thread start-up cost).
 */
async function startEncoder(library: Library, loaded: LoadedModel, files: number): Promise<Encoder> {
  const [height, width, channels] = loaded.model.spec.inputShape;
  const engine = await initEngine();
  if (files >= WORKER_EMBED_MIN && engine.backend === 'wasm' && library.config.workers > 1) {
    const pool = await ModelWorkerPool.start(loaded.model, 1, engine.backend);
    return {
      encode: (pixels, count) =>
        pool.encode({ pixels, count, height, width, channels }, loaded.model.latentSize, { chunk: count, batchSize: 256, embed: true }),
      close: () => pool.close(),
    };
  }
  const { model } = loaded;
  const size = height * width * channels;
  const slice = (pixels: Uint8Array, count: number) => embedImages(model, { pixels, count, height, width, channels }, { batchSize: count });
  // A bulk run makes the engine's kernels for this model while its first files are read (after they
  // were asked for: this runs on the next turn of the event loop), so the first batch is not the one
  // that pays for it. One image is enough: the kernels do not depend on the batch size, and a full
  // slice of blank images cost ~15 ms of CPU for nothing on every ingest.
  const warm =
    files >= EMBED_SLICE
      ? new Promise<void>((resolve) =>
          setImmediate(() => {
            slice(new Uint8Array(size), 1);
            resolve();
          }),
        )
      : Promise.resolve();
  return {
    encode: async (pixels, count) => {
      await warm;
      if (count < EMBED_SLICE) return slice(pixels, count);
      const latent = model.latentSize;
      const out = new Float32Array(count * latent);
      for (let s = 0; s < count; s += EMBED_SLICE) {
        const n = Math.min(EMBED_SLICE, count - s);
        // The last slice is padded to the same shape (the kernels made for it are reused).
        const input = n === EMBED_SLICE ? pixels.subarray(s * size, (s + n) * size) : new Uint8Array(EMBED_SLICE * size);
        if (n < EMBED_SLICE) input.set(pixels.subarray(s * size, (s + n) * size));
        out.set(slice(input, EMBED_SLICE).subarray(0, n * latent), s * latent);
        // Between slices the decoders hand sharp their next files: decoding never waits for a whole batch.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      return out;
    },
    close: async () => undefined,
  };
}

/** Without a model the image is still fully decoded (so broken files are refused) to a token size. */
function targetOf(loaded: LoadedModel | null) {
  if (!loaded) return { height: 8, width: 8, channels: 1 as const };
  const [height, width, channels] = loaded.model.spec.inputShape;
  return { height, width, channels };
}

/**
 * Saves the index after an ingest. On a full disk the images are already committed (the store is
 * the truth) and the index in memory serves them; the file on disk stays at its last save, stamped
 * with its generation, so the next process to open it reconciles it with the store. Failing here
 * would tell an uploader that an image stored for good was not.
 */
function saveIndexUnlessDiskFull(opened: OpenedIndex): void {
  try {
    opened.index.save(opened.generation);
  } catch (error) {
    if (!isAppError(error, 'storage_full')) throw error;
  }
}

/** Embeds a batch, writes its files, commits rows + vectors, then adds them to the index. */
async function commitBatch(
  library: Library,
  loaded: LoadedModel | null,
  opened: OpenedIndex | null,
  encoder: Encoder | null,
  batch: Decoded[],
  options: IngestOptions,
): Promise<number[]> {
  // Originals first: a row must never point at a file that is not there. They are fsynced in
  // parallel so the file system can group the flushes, and while the batch is embedded, so that the
  // file system's work (libuv's threads) and the model's (this thread) share the cores. Thumbnails
  // are made on first view.
  const written = Promise.all(batch.map((d) => writeFileDurable(originalPath(library.config, d.hash), d.bytes)));
  written.catch(() => undefined); // awaited below; a failure must not surface as unhandled meanwhile
  let latents: Float32Array | null = null;
  if (loaded && encoder) {
    const [height, width, channels] = loaded.model.spec.inputShape;
    const size = height * width * channels;
    const pixels = new Uint8Array(batch.length * size);
    batch.forEach((d, i) => pixels.set(d.image.pixels, i * size));
    latents = await encoder.encode(pixels, batch.length).catch(async (error: unknown) => {
      await written.catch(() => undefined);
      throw error;
    });
  }
  await written;
  const dim = loaded?.record.latentSize ?? 0;
  const images = batch.map((d, i): StoredImage => ({
    hash: d.hash,
    name: d.name,
    format: d.image.format,
    byteSize: d.bytes.length,
    width: d.image.originalWidth,
    height: d.image.originalHeight,
    labels: d.labels,
    metadata: d.image.metadata,
    vector: latents ? latents.slice(i * dim, (i + 1) * dim) : null,
  }));
  return storeImages(library, loaded && opened ? { model: loaded.record, opened } : null, images, options.modality ?? 'photo');
}

/** A decoded (and, under a model, embedded) image whose original is already stored under its hash. */
export interface StoredImage {
  hash: string;
  name: string;
  format: string;
  byteSize: number;
  width: number;
  height: number;
  labels: string[];
  metadata: Record<string, string | number>;
  /** The vector under `target.model`; null when no model is active. */
  vector: Float32Array | null;
}

/**
 * Commits images whose originals are on disk: rows and vectors in one transaction with the
 * model's index generation, then into the index. Idempotent: an image whose content is already
 * stored is left alone (the same batch delivered twice stores nothing twice). Returns the new ids.
 */
export function storeImages(
  library: Library,
  target: { model: ModelRecord; opened: OpenedIndex } | null,
  images: readonly StoredImage[],
  modality: Exclude<Modality, 'dicom'>,
): number[] {
  const added = immediate(library.db, () => {
    const out: { id: number; vector: Float32Array }[] = [];
    for (const d of images) {
      if (findImageByHash(library.db, d.hash)) continue; // stored meanwhile by another process, or delivered twice
      purgeDeletedHash(library.db, d.hash); // a deleted image added again: new id, never resurrected in an index
      const id = insertImage(library.db, {
        contentHash: d.hash,
        originalName: d.name,
        format: d.format,
        byteSize: d.byteSize,
        width: d.width,
        height: d.height,
        modality: d.format === 'dicom' ? 'dicom' : modality,
        labels: d.labels,
        metadata: d.metadata,
      });
      const vector = d.vector ?? new Float32Array(0);
      if (target) putEmbedding(library.db, id, target.model.id, vector);
      out.push({ id, vector });
    }
    const generation = out.length && target ? bumpIndexGeneration(library.db, target.model.id) : 0;
    return { out, generation };
  });
  if (target) {
    target.opened.index.add(added.out);
    if (added.generation) markIndexCurrent(target.opened, added.generation);
  }
  return added.out.map((a) => a.id);
}
