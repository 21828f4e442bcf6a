/**
 * The job kinds' distributed paths: an ingest of a folder and the embedding of stored images under
 * a model, run through the remote transport with the same results as their local counterparts
 * (`ingestFolder`, `embedMissing`) and the same progress fields (done/total across all workers,
 * images/s, ETA), plus how many workers take part and whether Redis is away.
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
  await transport.distribute({
    run: `ingest-${context.jobId}`,
    mode: 'ingest',
    model: { id: model.id, fingerprint: await registeredModelFingerprint(model) },
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
  await transport.distribute({
    run: `${context.phase.replace(/[^a-z]/g, '')}-${context.jobId}`,
    mode: 'embed',
    model: { id: model.id, fingerprint: await registeredModelFingerprint(model) },
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
