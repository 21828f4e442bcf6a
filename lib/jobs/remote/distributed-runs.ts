/**
 * The job kinds' distributed paths: an ingest of a folder, the embedding of stored images under a
 * model and the near-duplicate search, run through the remote transport with the same results as
 * their local counterparts (`ingestFolder`, `embedMissing`, `findNearDuplicates`) and the same
 * progress fields (done/total across all workers, images/s, ETA), plus how many workers take part
 * and whether Redis is away.
 */
import type { Modality } from '../../store/images-repo';
import type { ModelRecord } from '../../store/models-repo';
import type { JobProgress } from '../../store/jobs-repo';
import {
  discardStaged,
  embedBatches,
  stageFolder,
  storeEmbedBatch,
  storeIngestBatch,
  type StageReport,
} from '../../services/distributed-ingest-service';
import type { Library } from '../../services/library';
import { registeredModelFingerprint } from '../../services/model-service';
import type { BatchImage } from '../../services/batch-embedding';
import {
  checkDuplicateOptions,
  groupNearDuplicates,
  nearestNeighbors,
  type DuplicateGroups,
  type DuplicateOptions,
} from '../../services/duplicates-service';
import { removeIndexSnapshots, writeIndexSnapshot } from '../../services/index-snapshots';
import { loadActiveVectors, modelIndex } from '../../services/model-service';
import { decodeNeighbors, decodeResult, toBase64, type ImageBatch } from './batch-protocol';
import { MODEL_INPUT_VERSION } from '../../images/image-decoder';
import type { RemoteTransport, RunState } from './remote-transport';

export interface RunContext {
  library: Library;
  /** The library job's id: the run's name in Redis, so a resumed job finds its batches again. */
  jobId: number;
  signal: AbortSignal;
  progress: (p: JobProgress) => void;
}

/** Images per batch: large enough to amortise a worker's round trip, small enough to spread over workers. */
export const BATCH_IMAGES = 200;

/** Images of a batch to embed, as their job's data (named by their content hashes). */
function imagePayload(run: string, mode: ImageBatch['mode'], model: ImageBatch['model']) {
  return (images: BatchImage[]) => ({
    data: {
      run,
      mode,
      model,
      inputVersion: MODEL_INPUT_VERSION,
      includePatient: false,
      images: images.map(({ hash, name }) => ({ hash, name })),
    },
    content: images.map((image) => image.hash),
  });
}

/** done/total, images/s and ETA from counts; `extra` names the workers and an outage. */
function progressOf(phase: string, done: number, total: number, started: number, state: RunState, extra: string): JobProgress {
  const rate = done / Math.max((performance.now() - started) / 1000, 1e-9);
  const notes = [
    state.workers === null ? null : `${state.workers} worker${state.workers === 1 ? '' : 's'}`,
    state.batchesStalled ? `${state.batchesStalled} batches taken back from stopped workers` : null,
    state.batchesResent ? `${state.batchesResent} batches sent again` : null,
    state.outage,
  ].filter((note) => note !== null);
  return {
    phase,
    done,
    total,
    imagesPerSec: rate,
    etaSeconds: (total - done) / Math.max(rate, 1e-9),
    message: [extra, ...notes].join(' · '),
  };
}

/** `ingestFolder` through remote workers; returns what the ingest job reports. */
export async function distributeIngest(
  transport: RemoteTransport,
  model: ModelRecord,
  params: { folder: string; modality: Exclude<Modality, 'dicom'>; labelFromFolder: boolean; recursive: boolean; batchSize?: number },
  context: RunContext,
): Promise<{ added: number; duplicates: number; refused: number }> {
  const { library, signal } = context;
  const staged: StageReport = { total: 0, duplicates: 0, skipped: [] };
  let added = 0;
  let duplicates = 0;
  let refused = 0;
  const started = performance.now();
  const run = `ingest-${context.jobId}`;
  await transport.distribute({
    run,
    payload: imagePayload(run, 'ingest', { id: model.id, fingerprint: await registeredModelFingerprint(model) }),
    decode: decodeResult,
    batches: stageFolder(library, params.folder, staged, {
      labelFromFolder: params.labelFromFolder,
      recursive: params.recursive,
      batchSize: params.batchSize ?? BATCH_IMAGES,
      signal,
    }),
    store: async (batch, outcome) => {
      const result = await storeIngestBatch(library, model, batch, outcome, params.modality);
      added += result.added.length;
      duplicates += result.duplicates;
      refused += result.skipped.length;
    },
    failed: async (batch) => {
      refused += batch.length;
      await discardStaged(
        library,
        batch.map((image) => image.hash),
      );
    },
    abandoned: (batches) =>
      discardStaged(
        library,
        batches.flat().map((image) => image.hash),
      ),
    signal,
    onProgress: (state) => {
      const done = staged.duplicates + staged.skipped.length + state.imagesDone + state.imagesInFlight;
      const known = staged.duplicates + duplicates;
      context.progress(
        progressOf(
          'ingest',
          done,
          staged.total,
          started,
          state,
          `${added} new, ${known} known, ${staged.skipped.length + refused} refused`,
        ),
      );
    },
  });
  return { added, duplicates: staged.duplicates + duplicates, refused: staged.skipped.length + refused };
}

/** `embedMissing` through remote workers: every stored image without a vector under `model`. */
export async function distributeEmbedding(
  transport: RemoteTransport,
  model: ModelRecord,
  context: RunContext & { phase: string; batchSize?: number },
): Promise<{ embedded: number; failed: { id: number; reason: string }[] }> {
  const { library } = context;
  const batches = [...embedBatches(library, model, context.batchSize ?? BATCH_IMAGES)];
  const total = batches.reduce((n, b) => n + b.length, 0);
  let embedded = 0;
  const failed: { id: number; reason: string }[] = [];
  const started = performance.now();
  const run = `${context.phase.replace(/[^a-z]/g, '')}-${context.jobId}`;
  await transport.distribute({
    run,
    payload: imagePayload(run, 'embed', { id: model.id, fingerprint: await registeredModelFingerprint(model) }),
    decode: decodeResult,
    batches,
    store: async (_batch, outcome) => {
      const result = storeEmbedBatch(library, model, outcome);
      embedded += result.embedded;
      failed.push(...result.failed);
    },
    failed: async (batch, reason) => {
      const result = storeEmbedBatch(library, model, {
        embedded: [],
        refused: batch.map((image) => ({ hash: image.hash, code: 'backend_unavailable' as const, reason })),
      });
      failed.push(...result.failed);
    },
    signal: context.signal,
    onProgress: (state) =>
      context.progress(
        progressOf(
          context.phase,
          state.imagesDone + state.imagesInFlight,
          total,
          started,
          state,
          `${embedded} embedded, ${failed.length} failed`,
        ),
      ),
  });
  return { embedded, failed };
}

/** Rows per block of a distributed near-duplicate search (a block is a fraction of a second of searching). */
export const NEIGHBOR_BLOCK = 5000;

/**
 * `findNearDuplicates` through remote workers: the app writes a snapshot of the active model's
 * index, each worker searches blocks of rows in it with the same function (`nearestNeighbors`),
 * and the app merges their lists and groups them here — the same groups as the local search. A
 * block that fails on every attempt is searched here instead; the snapshot is removed at the end.
 */
export async function distributeNearDuplicates(
  transport: RemoteTransport,
  options: DuplicateOptions,
  context: RunContext & { batchSize?: number },
): Promise<DuplicateGroups & { blocks: number; blocksSearchedHere: number }> {
  const { library } = context;
  const { model, ids, data, dim } = loadActiveVectors(library);
  const neighbors = checkDuplicateOptions(options);
  const run = `duplicates-${context.jobId}`;
  const size = context.batchSize ?? NEIGHBOR_BLOCK;
  const snapshot = await writeIndexSnapshot(library, model, run);
  const lists = {
    neighbors,
    ids: new Int32Array(ids.length * neighbors).fill(-1),
    distances: new Float32Array(ids.length * neighbors).fill(Infinity),
  };
  /** A block: the positions of its rows (consecutive). */
  const blocks = Array.from({ length: Math.ceil(ids.length / size) }, (_, b) =>
    Array.from({ length: Math.min(size, ids.length - b * size) }, (_, i) => b * size + i),
  );
  const commit = (rows: number[], found: { ids: Int32Array; distances: Float32Array }) => {
    lists.ids.set(found.ids, rows[0]! * neighbors);
    lists.distances.set(found.distances, rows[0]! * neighbors);
  };
  const slice = (rows: number[]) => ({
    ids: Int32Array.from(ids.slice(rows[0]!, rows[0]! + rows.length)),
    vectors: data.subarray(rows[0]! * dim, (rows[0]! + rows.length) * dim),
  });
  let searchedHere = 0;
  const started = performance.now();
  try {
    await transport.distribute({
      run,
      batches: blocks,
      payload: (rows) => {
        const block = slice(rows);
        const encoded = toBase64(block.ids);
        return {
          data: {
            run,
            mode: 'neighbors',
            snapshot: { generation: snapshot.generation, dim: snapshot.dim, space: snapshot.space, files: snapshot.files },
            neighbors,
            ids: encoded,
            vectors: toBase64(block.vectors),
          },
          content: [...snapshot.files.map((f) => f.sha256), encoded],
        };
      },
      decode: (value, rows) => decodeNeighbors(value, rows.length, neighbors),
      store: async (rows, found) => commit(rows, found),
      failed: async (rows) => {
        const block = slice(rows);
        commit(rows, nearestNeighbors(modelIndex(library, model).index, block.ids, block.vectors, dim, neighbors));
        searchedHere++;
      },
      signal: context.signal,
      onProgress: (state) =>
        context.progress(
          progressOf(
            'duplicates',
            state.imagesDone + state.imagesInFlight,
            ids.length,
            started,
            state,
            `${state.batchesDone} of ${blocks.length} blocks searched`,
          ),
        ),
    });
  } finally {
    removeIndexSnapshots(library);
  }
  return { ...groupNearDuplicates(ids, lists, options), blocks: blocks.length, blocksSearchedHere: searchedHere };
}
