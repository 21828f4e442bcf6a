/**
 * Models as the library knows them: registering a trained model directory, the active model
 * (loaded once and cached), and its HNSW index — opened, checked against the model's latent size
 * and space, reconciled with the store when stale, rebuilt from SQLite when unusable.
 */
import { basename, join } from 'node:path';
import { AppError } from '../errors';
import { MODEL_INPUT_VERSION } from '../images/image-decoder';
import type { Autoencoder } from '../models/autoencoder';
import { loadModel, modelFingerprint, readModelFiles, readModelManifest, type ModelFile } from '../models/model-io';
import { parseModelSpec } from '../models/spec';
import { countEmbeddings, countImagesWithoutEmbedding, embeddingChunks, getEmbedding, readEmbeddings } from '../store/embeddings-repo';
import { immediate } from '../store/database';
import { deleteImage } from '../store/images-repo';
import {
  activateModel,
  activeModel,
  findModelByName,
  getModel,
  indexGeneration,
  listModels,
  type ModelRecord,
  registerModel,
  vectorsEpoch,
} from '../store/models-repo';
import { vectorIndexBackend } from '../vector-index/backends';
import type { VectorIndex } from '../vector-index/vector-index';
import type { DistanceSpace } from '../vectors/distance';
import type { Library } from './library';

/** Latent vectors are compared by (squared) Euclidean distance, the geometry the decoder and k-means share. */
export const INDEX_SPACE: DistanceSpace = 'l2';

/** Registers a saved model directory (activating it when no model is active yet). */
export async function registerModelDir(library: Library, dir: string, options: { activate?: boolean } = {}): Promise<ModelRecord> {
  const manifest = await readModelManifest(dir);
  const spec = parseModelSpec(manifest.spec);
  const name = basename(dir);
  const record =
    findModelByName(library.db, name) ??
    registerModel(library.db, {
      name,
      dir,
      spec,
      latentSize: spec.latentSize,
      training: manifest.training,
      inputVersion: MODEL_INPUT_VERSION,
    });
  if (options.activate || !activeModel(library.db)) activateModel(library.db, record.id);
  return findModelByName(library.db, name)!;
}

export interface LoadedModel {
  record: ModelRecord;
  model: Autoencoder;
}

/**
 * The loaded models and open indexes, one set per process however many copies of this module it
 * holds. The built web app holds several: Next.js bundles lib/ once for the App Router routes and
 * once for the Pages Router API routes (the search routes), and the server's own listener
 * (scripts/web-server.ts) loads a third. Kept per module, each copy opened its own index (another
 * ~0.45 GB at a million images) and, after an upload through another copy, re-read every stored
 * vector to catch up (seconds of a blocked event loop at a million).
 */
const shared = ((globalThis as unknown as { __latentAtlasModels?: SharedModels }).__latentAtlasModels ??= {
  loaded: new Map(),
  indexes: new Map(),
});
interface SharedModels {
  loaded: Map<string, LoadedModel>;
  indexes: Map<string, OpenedIndex>;
}
const cache = shared.loaded;

/** The active model, loaded once per process; AppError('not_found') says what to do when none. */
export async function loadActiveModel(library: Library): Promise<LoadedModel> {
  const record = activeModel(library.db);
  if (!record) throw new AppError('not_found', 'no active model yet: train one first (npm run train -- --data <folder>)');
  return loadRegisteredModel(library, record);
}

/** A registered model, loaded once per process. */
export async function loadRegisteredModel(library: Library, record: ModelRecord): Promise<LoadedModel> {
  const key = `${library.config.dbPath}#${record.id}`;
  const cached = cache.get(key);
  if (cached) return cached;
  const { model } = await loadModel(record.dir);
  if (model.latentSize !== record.latentSize)
    throw new AppError('internal', `model ${record.name} on disk has latent size ${model.latentSize}, registered ${record.latentSize}`);
  const loaded = { record, model };
  cache.set(key, loaded);
  return loaded;
}

export interface OpenedIndex {
  index: VectorIndex;
  rebuilt: boolean;
  reconciled: boolean;
  reason: string | null;
  /** The store's index generation this index reflects. */
  generation: number;
  /** The model's vectors epoch this index reflects (see modelIndex); unset until first checked. */
  epoch?: number;
}

function indexPath(library: Library, model: ModelRecord): string {
  return join(library.config.indexDir, `model-${model.id}`);
}

/** Brings an index in line with the store: missing ids added, deleted ones removed. */
function reconcileIndex(library: Library, model: ModelRecord, index: VectorIndex): void {
  const stored = new Set<number>();
  const missing: { id: number; vector: Float32Array }[] = [];
  const indexed = index.ids();
  for (const { ids, vectors } of embeddingChunks(library.db, model.id, model.latentSize)) {
    ids.forEach((id, r) => {
      stored.add(id);
      if (!indexed.has(id)) missing.push({ id, vector: vectors.subarray(r * model.latentSize, (r + 1) * model.latentSize) });
    });
  }
  index.remove([...indexed].filter((id) => !stored.has(id)));
  index.add(missing);
}

/** The stored vectors as index entries (views into chunks read from SQLite). */
function* storedEntries(library: Library, model: ModelRecord): Generator<{ id: number; vector: Float32Array }> {
  const dim = model.latentSize;
  for (const { ids, vectors } of embeddingChunks(library.db, model.id, dim)) {
    for (let r = 0; r < ids.length; r++) yield { id: ids[r]!, vector: vectors.subarray(r * dim, (r + 1) * dim) };
  }
}

/**
 * The model's index, usable and in agreement with the store: loaded; reconciled when stale
 * (missing ids added, deleted ones removed); rebuilt from SQLite when missing, unreadable or of
 * another dimension. Saved again whenever it changed.
 */
export function openModelIndex(library: Library, model: ModelRecord): OpenedIndex {
  const { db } = library;
  const path = indexPath(library, model);
  const options = { dim: model.latentSize, space: INDEX_SPACE };
  const generation = indexGeneration(db, model.id);
  const loaded = vectorIndexBackend().open(path, options, generation);
  if (loaded.index && !loaded.stale) return { index: loaded.index, rebuilt: false, reconciled: false, reason: null, generation };
  if (loaded.index) {
    reconcileIndex(library, model, loaded.index);
    loaded.index.save(generation);
    return { index: loaded.index, rebuilt: false, reconciled: true, reason: loaded.reason, generation };
  }
  const count = countEmbeddings(db, model.id);
  const index = vectorIndexBackend().create(path, options, count);
  index.rebuild(storedEntries(library, model), count);
  index.save(generation);
  return { index, rebuilt: true, reconciled: false, reason: loaded.reason, generation };
}

const openIndexes = shared.indexes;

/**
 * Rebuilds the active model's index from SQLite as background work: vectors read in chunks, added
 * in batches with progress and the event loop free (so a job's cancellation lands), then saved
 * stamped with the generation read before the first vector — changes made meanwhile are caught
 * up by the next open. Cancelled, the index on disk is the previous one.
 */
export async function rebuildModelIndex(
  library: Library,
  options: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {},
): Promise<{ vectors: number; seconds: number }> {
  const model = activeModel(library.db);
  if (!model) throw new AppError('not_found', 'no active model yet: train one first (npm run train)');
  const started = performance.now();
  const generation = indexGeneration(library.db, model.id);
  const count = countEmbeddings(library.db, model.id);
  const index = vectorIndexBackend().create(indexPath(library, model), { dim: model.latentSize, space: INDEX_SPACE }, count);
  await index.rebuildInBatches(storedEntries(library, model), count, options);
  index.save(generation);
  openIndexes.set(`${library.config.dbPath}#${model.id}`, {
    index,
    rebuilt: true,
    reconciled: false,
    reason: 'rebuilt on request',
    generation,
  });
  return { vectors: index.size, seconds: (performance.now() - started) / 1000 };
}

/**
 * The model's index, opened once per process and library and shared by ingest and search, so a
 * search sees what an ingest in the same process just added. When another process (the job
 * worker) changed the store since, the index catches up in memory before it answers.
 */
export function modelIndex(library: Library, model: ModelRecord): OpenedIndex {
  const key = `${library.config.dbPath}#${model.id}`;
  const epoch = vectorsEpoch(library.db, model.id);
  let opened = openIndexes.get(key);
  // Vectors replaced by another process (a re-embed): catching up by ids would keep the old ones,
  // so the index that process saved is opened again instead.
  if (!opened || opened.index.dim !== model.latentSize || (opened.epoch !== undefined && opened.epoch !== epoch)) {
    opened = openModelIndex(library, model);
    openIndexes.set(key, opened);
  }
  opened.epoch = epoch;
  const generation = indexGeneration(library.db, model.id);
  if (generation !== opened.generation) {
    reconcileIndex(library, model, opened.index);
    opened.generation = generation;
  }
  return opened;
}

/** Records that this process applied the store change that moved the generation to `generation`. */
export function markIndexCurrent(opened: OpenedIndex, generation: number): void {
  if (opened.generation === generation - 1) opened.generation = generation;
}

/** Forgets the open indexes (after files changed behind this process's back, or in tests). */
export function forgetOpenIndexes(): void {
  openIndexes.clear();
}

/** Every live image's vector under the active model, row-major (read in chunks into one typed array), with the image ids in order. */
export function loadActiveVectors(library: Library): { model: ModelRecord; ids: number[]; data: Float32Array; dim: number } {
  const model = activeModel(library.db);
  if (!model) throw new AppError('not_found', 'no active model yet: train one first (npm run train)');
  const { ids, data } = readEmbeddings(library.db, model.id, model.latentSize);
  if (ids.length === 0)
    throw new AppError('invalid_input', 'the library has no images yet: ingest some first (npm run ingest -- <folder>)');
  return { model, ids, data, dim: model.latentSize };
}

/**
 * Switches the active model without a gap: every stored image is embedded and indexed under the
 * new model first (search keeps using the old one meanwhile), then one transaction flips it.
 */
export async function switchActiveModel(
  library: Library,
  modelId: number,
  embed: (library: Library, model: ModelRecord) => Promise<unknown>,
): Promise<ModelRecord> {
  const record = getModel(library.db, modelId);
  if (!record) throw new AppError('not_found', `no model with id ${modelId}`);
  // Uploads keep arriving under the old model while this embeds: embed again until a transaction
  // finds nothing left, then flip in that same transaction (a few rounds at most; what still
  // races the flip is embedded by the worker's catch-up, see job-service.ts queueCatchUp).
  for (let round = 1; ; round++) {
    await embed(library, record);
    const flipped = immediate(library.db, () => {
      if (round < 3 && countImagesWithoutEmbedding(library.db, record.id) > 0) return false;
      activateModel(library.db, record.id);
      return true;
    });
    if (flipped) return getModel(library.db, record.id)!;
  }
}

/** Deletes stored images: rows and vectors in one transaction, then out of the open indexes. */
export function deleteImages(library: Library, ids: readonly number[]): number {
  const deleted = ids.filter((id) => deleteImage(library.db, id));
  for (const [key, opened] of openIndexes) {
    if (key.startsWith(`${library.config.dbPath}#`)) opened.index.remove(deleted);
  }
  return deleted.length;
}

/** A stored image's embedding under `model`, or AppError('not_found'). */
export function storedEmbedding(library: Library, model: ModelRecord, imageId: number): Float32Array {
  const vector = getEmbedding(library.db, imageId, model.id, model.latentSize);
  if (!vector) throw new AppError('not_found', `image ${imageId} not found`);
  return vector;
}

/** What a model's page shows of its training record (model.json `training`; fields absent when not recorded). */
export interface ModelTrainingSummary {
  data?: string;
  images?: number;
  history?: { epoch: number; loss: number; valLoss: number | null; phase?: string }[];
  testMse?: number | null;
}

/** A registered model as the web app lists it: no server path. */
export type ModelInfo = Omit<ModelRecord, 'dir' | 'spec' | 'training'> & {
  spec: Record<string, unknown>;
  training: ModelTrainingSummary | null;
};

/** The registered models as stored, directories included (for the command line on the library's machine), oldest first. */
export function registeredModels(library: Library): ModelRecord[] {
  return listModels(library.db);
}

/** The registered models with their spec and training record, oldest first. */
export function listModelInfos(library: Library): ModelInfo[] {
  return registeredModels(library).map(({ dir: _dir, spec, training, ...model }) => ({
    ...model,
    spec: spec as Record<string, unknown>,
    training: (training ?? null) as ModelTrainingSummary | null,
  }));
}

/** Registered model `id`; AppError('not_found') otherwise. */
/**
 * One file of registered model `id` as remote workers download it, with the model's fingerprint
 * (modelFingerprint); AppError('not_found') for an unknown id.
 */
export async function modelFile(library: Library, id: number, file: ModelFile): Promise<{ bytes: Uint8Array; fingerprint: string }> {
  const files = await readModelFiles(modelOrThrow(library, id).dir);
  return { bytes: files[file], fingerprint: modelFingerprint(files) };
}

/** What a remote worker learns from the app at start: the active model by id and fingerprint. */
export async function remoteHello(
  library: Library,
): Promise<{ app: 'latent-atlas'; activeModel: { id: number; fingerprint: string } | null }> {
  const record = activeModel(library.db);
  return { app: 'latent-atlas', activeModel: record ? { id: record.id, fingerprint: await registeredModelFingerprint(record) } : null };
}

/** The fingerprint of a registered model's files, which the batches of a distributed job name. */
export async function registeredModelFingerprint(record: ModelRecord): Promise<string> {
  return modelFingerprint(await readModelFiles(record.dir));
}

export function modelOrThrow(library: Library, id: number): ModelRecord {
  const model = getModel(library.db, id);
  if (!model) throw new AppError('not_found', `model ${id} not found`);
  return model;
}
