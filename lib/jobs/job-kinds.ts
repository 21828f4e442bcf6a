/**
 * The kinds of background work, each with its validated parameters, the key that stops two
 * identical jobs from running at once, whether a killed run can resume from where it stopped,
 * and the one library function it calls.
 */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { z } from 'zod';
import { AppError } from '../errors';
import { parseModelSpec } from '../models/spec';
import { trainOptionsSchema } from '../models/train';
import { runClustering } from '../services/cluster-service';
import { embedMissing, ingestFolder } from '../services/ingest-service';
import type { Library } from '../services/library';
import { computeMap } from '../services/map-service';
import { loadActiveModel, rebuildModelIndex, registerModelDir, switchActiveModel } from '../services/model-service';
import { moveToTrash } from '../services/trash-service';
import { activeModel, type ModelRecord } from '../store/models-repo';
import { findNearDuplicates } from '../services/duplicates-service';
import { distributeEmbedding, distributeIngest, distributeNearDuplicates } from './remote/distributed-runs';
import type { RemoteTransport } from './remote/remote-transport';
import { defaultModelDir, FASHION_MNIST, LIBRARY_DATA, trainModel } from '../services/train-service';
import type { JobProgress } from '../store/jobs-repo';
import { parseOrThrow } from '../validation';
import { initEngine } from '../engine/backend';

export interface JobContext {
  library: Library;
  /** The running job's id (work it leaves behind can name it: the trash, for an undo). */
  jobId: number;
  signal: AbortSignal;
  progress: (p: JobProgress) => void;
  /** Remote workers through Redis (LATENT_ATLAS_REDIS_URL); null: everything runs in this process. */
  remote: RemoteTransport | null;
}

/**
 * Embeds the stored images that lack a vector under `model`: through the remote workers when there
 * are any (the same result, see distributed-runs.ts), else here.
 */
function embedUnder(library: Library, model: ModelRecord, context: JobContext, phase: string, all = false, message?: string) {
  if (context.remote && !all) return distributeEmbedding(context.remote, model, { ...context, library, phase });
  return embedMissing(library, {
    model,
    all,
    signal: context.signal,
    onProgress: (q) =>
      context.progress({
        phase,
        done: q.done,
        total: q.total,
        imagesPerSec: q.imagesPerSec,
        etaSeconds: q.etaSeconds,
        ...(message ? { message } : {}),
      }),
  });
}

interface JobKind<P> {
  schema: z.ZodType<P>;
  /** Identical work has the same key. */
  dedupeKey: (params: P) => string;
  /** A killed run can start again and continue (the work is idempotent). */
  resumable: boolean;
  /** Fills in defaults that must not change between runs (chosen when the job is queued). */
  prepare?: (params: P, library: Library) => P;
  run: (params: P, context: JobContext) => Promise<unknown>;
}

const ingest: JobKind<{ folder: string; modality: 'photo' | 'xray'; labelFromFolder: boolean; recursive: boolean; batchSize?: number }> = {
  schema: z.strictObject({
    folder: z
      .string()
      .min(1)
      .transform((f) => resolve(f)),
    modality: z.enum(['photo', 'xray']).default('photo'),
    labelFromFolder: z.boolean().default(false),
    recursive: z.boolean().default(true),
    /** Images committed together here, or per batch sent to remote workers. Default 64 here, 200 remote. */
    batchSize: z.number().int().min(1).max(10_000).optional(),
  }),
  dedupeKey: (p) => `ingest:${p.folder}`,
  resumable: true, // content hashes make a rerun add only what is missing
  run: async (p, context) => {
    const { library, signal, progress } = context;
    // Without an active model there is nothing to embed: the images are only checked and stored, here.
    const model = activeModel(library.db);
    if (context.remote && model) return distributeIngest(context.remote, model, p, context);
    const report = await ingestFolder(library, p.folder, {
      modality: p.modality,
      labelFromFolder: p.labelFromFolder,
      recursive: p.recursive,
      ...(p.batchSize ? { batchSize: p.batchSize } : {}),
      signal,
      onProgress: (q) =>
        progress({
          phase: 'ingest',
          done: q.done,
          total: q.total,
          imagesPerSec: q.imagesPerSec,
          etaSeconds: q.etaSeconds,
          message: `${q.added} new, ${q.duplicates} known, ${q.skipped} refused`,
        }),
    });
    return { added: report.added, duplicates: report.duplicates, refused: report.skipped };
  },
};

const train: JobKind<{ data: string; spec: unknown; options: unknown; outDir?: string; limit?: number; activate: boolean }> = {
  schema: z.strictObject({
    data: z.string().min(1),
    spec: z.unknown(),
    options: z.unknown().default({}),
    outDir: z.string().optional(),
    limit: z.number().int().min(1).optional(),
    activate: z.boolean().default(false),
  }),
  dedupeKey: (p) => `train:${p.outDir ?? JSON.stringify([p.data, p.spec, p.options])}`,
  resumable: true, // a checkpoint after every epoch; a rerun continues from the next one
  prepare: (p, library) => ({ ...p, outDir: p.outDir ?? defaultModelDir(library.config.modelsDir, parseModelSpec(p.spec)) }),
  run: async (p, context) => {
    const { library, signal, progress } = context;
    const spec = parseModelSpec(p.spec);
    const options = trainOptionsSchema.parse(p.options);
    const engine = await initEngine();
    const outDir = p.outDir ?? defaultModelDir(library.config.modelsDir, spec);
    const history: NonNullable<JobProgress['history']> = [];
    const outcome = await trainModel(
      {
        data: p.data === FASHION_MNIST || p.data === LIBRARY_DATA ? p.data : resolve(p.data),
        library,
        spec,
        options,
        outDir,
        checkpointDir: `${outDir}.checkpoint`,
        workers: library.config.workers,
        backend: engine.backend,
        ...(p.limit ? { limit: p.limit } : {}),
      },
      {
        signal,
        onProgress: (q) => {
          if (q.epochDone && q.phase !== 'pretrain') history.push({ epoch: q.epoch, loss: q.loss, valLoss: q.valLoss });
          progress({
            phase: q.phase,
            done: (q.epoch - 1) * q.batches + q.batch,
            total: q.epochs * q.batches,
            loss: q.loss,
            imagesPerSec: q.imagesPerSec,
            etaSeconds: q.etaSeconds,
            history,
          });
        },
      },
    );
    let record = await registerModelDir(library, outDir);
    // Activation embeds the stored images under the new model first (search keeps the old one).
    if (p.activate || record.active)
      record = await switchActiveModel(library, record.id, (lib, model) => embedUnder(lib, model, context, 'embed'));
    return { modelId: record.id, modelDir: outDir, testMse: outcome.testMse, history: outcome.result.history };
  },
};

// `all`: every image again, its vector replaced (here, not on remote workers) — after an upgrade
// that changed how images are prepared for the model; `reason: 'input-version'` when the worker
// queued it for that (job-service.ts queueInputUpgrade). Otherwise the images without a vector.
const embed: JobKind<{ all?: boolean; reason?: 'input-version' }> = {
  schema: z
    .strictObject({ all: z.boolean().optional(), reason: z.literal('input-version').optional() })
    .refine((p) => !p.reason || p.all, { message: "reason 'input-version' goes with all: true", path: ['reason'] }),
  dedupeKey: (p) => (p.all ? 'embed:all' : 'embed'), // a reason does not make it other work
  resumable: true, // a rerun of `all` starts over: the same vectors again
  run: async (p, context) =>
    embedUnder(
      context.library,
      (await loadActiveModel(context.library)).record,
      context,
      p.all ? 're-embed' : 'embed',
      p.all ?? false,
      p.reason === 'input-version'
        ? 'image preparation changed in this version: each vector is replaced in place, search keeps working'
        : undefined,
    ),
};

const cluster: JobKind<{ k: number | 'auto'; range?: [number, number]; seed: number; umap: boolean }> = {
  schema: z.strictObject({
    k: z.union([z.number().int().min(1), z.literal('auto')]),
    range: z.tuple([z.number().int(), z.number().int()]).optional(),
    seed: z.number().int().default(0),
    umap: z.boolean().default(false),
  }),
  dedupeKey: (p) => `cluster:${JSON.stringify(p)}`,
  resumable: true,
  run: async (p, { library }) => {
    const run = await runClustering(library, { k: p.k, seed: p.seed, umap: p.umap, ...(p.range ? { range: p.range } : {}) });
    return { runId: run.id, k: run.params.k };
  },
};

const map: JobKind<{ method: 'pca' | 'umap' }> = {
  schema: z.strictObject({ method: z.enum(['pca', 'umap']).default('umap') }),
  dedupeKey: (p) => `map:${p.method}`,
  resumable: true,
  run: async (p, { library, signal, progress }) => {
    const points = await computeMap(library, p.method, { signal, onProgress: (done, total, phase) => progress({ phase, done, total }) });
    return { points: points.length };
  },
};

const index: JobKind<Record<string, never>> = {
  schema: z.strictObject({}),
  dedupeKey: () => 'index',
  resumable: true, // a rebuild from SQLite starts over; the saved index stays whole until it ends
  run: async (_p, { library, signal, progress }) =>
    rebuildModelIndex(library, { signal, onProgress: (done, total) => progress({ phase: 'index', done, total }) }),
};

const activate: JobKind<{ modelId: number }> = {
  schema: z.strictObject({ modelId: z.number().int().min(1) }),
  dedupeKey: (p) => `activate:${p.modelId}`,
  resumable: true, // embedding is idempotent; the switch is one transaction at the end
  run: async (p, context) => {
    const model = await switchActiveModel(context.library, p.modelId, (lib, record) => embedUnder(lib, record, context, 're-embed'));
    return { activeModelId: model.id };
  },
};

const duplicates: JobKind<{ fraction?: number; threshold?: number; neighbors?: number; batchSize?: number }> = {
  schema: z.strictObject({
    fraction: z.number().min(0).max(1).optional(),
    threshold: z.number().min(0).optional(),
    neighbors: z.number().int().min(1).max(100).optional(),
    /** Rows per block sent to remote workers. Default 5,000. */
    batchSize: z.number().int().min(1).max(1_000_000).optional(),
  }),
  dedupeKey: (p) => `duplicates:${JSON.stringify(p)}`,
  resumable: true, // a search: a rerun starts over
  // Through the remote workers when there are any (the same groups, see distributed-runs.ts), else here.
  run: async ({ batchSize, ...options }, context) => {
    if (context.remote) return distributeNearDuplicates(context.remote, options, { ...context, ...(batchSize ? { batchSize } : {}) });
    return findNearDuplicates(context.library, options, {
      signal: context.signal,
      onProgress: (done, total) => context.progress({ phase: 'duplicates', done, total }),
    });
  },
};

const trash: JobKind<{ ids: number[] }> = {
  schema: z.strictObject({ ids: z.array(z.number().int().min(1)).min(1).max(100_000) }),
  dedupeKey: (p) =>
    `trash:${createHash('sha256')
      .update(JSON.stringify([...p.ids].sort((a, b) => a - b)))
      .digest('hex')}`,
  resumable: true, // moving an image already in the trash again is skipped
  run: async (p, { library, jobId, signal, progress }) =>
    moveToTrash(library, p.ids, { jobId, signal, onProgress: (done, total) => progress({ phase: 'delete', done, total }) }),
};

export const JOB_KINDS = Object.freeze({ ingest, train, embed, activate, cluster, map, index, duplicates, trash } as Record<
  string,
  JobKind<unknown>
>);

export function jobKind(kind: string): JobKind<unknown> {
  const found = JOB_KINDS[kind];
  if (!found) throw new AppError('invalid_input', `unknown job kind '${kind}'; valid kinds: ${Object.keys(JOB_KINDS).join(', ')}`);
  return found;
}

/** Validates a job's parameters (naming every problem) and fixes its queue-time defaults. */
export function parseJobParams(kind: string, params: unknown, library: Library): { params: Record<string, unknown>; dedupeKey: string } {
  const spec = jobKind(kind);
  const parsed = parseOrThrow(spec.schema, params ?? {}, `${kind} job`, { root: 'params' });
  const prepared = spec.prepare ? spec.prepare(parsed, library) : parsed;
  return { params: prepared as Record<string, unknown>, dedupeKey: spec.dedupeKey(prepared) };
}
