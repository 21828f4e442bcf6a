/**
 * The job queue's API and its runner. Jobs live in SQLite; a runner (the `npm run worker`
 * process) claims the oldest queued job, runs its library function with progress written back
 * (throttled) and a heartbeat that also carries cancellation, and records the outcome. A worker
 * that died (kill -9) is noticed at the next start: resumable jobs run again from where the
 * store says they stopped, others fail with the reason — none stays "running" forever.
 */
import { hostname } from 'node:os';
import { AppError, isAppError } from '../errors';
import { processRunningSince } from '../processes';
import { resolveImportFolder } from '../services/import-service';
import type { Library } from '../services/library';
import { modelOrThrow } from '../services/model-service';
import { countEmbeddings, countImagesWithoutEmbedding } from '../store/embeddings-repo';
import { activeModel, vectorsInputVersion } from '../store/models-repo';
import { MODEL_INPUT_VERSION } from '../images/image-decoder';
import { markVectorsInputCurrent } from '../services/ingest-service';
import {
  claimNextJob,
  enqueueJob,
  finishJob,
  getJob,
  heartbeat,
  recoverStaleJobs,
  reportProgress,
  listJobs,
  requestCancel,
  type Job,
  type JobProgress,
  type JobState,
} from '../store/jobs-repo';
import { JOB_KINDS, jobKind, parseJobParams } from './job-kinds';
import { RemoteTransport } from './remote/remote-transport';

export function queueJob(library: Library, kind: string, params: unknown): Job {
  const parsed = parseJobParams(kind, params, library);
  return enqueueJob(library.db, kind, parsed.params, parsed.dedupeKey);
}

export { JOB_STATES, type Job, type JobProgress, type JobState } from '../store/jobs-repo';

/** Jobs, newest first (only those in `state` when given; the newest 100 unless `limit`): cheap to poll. */
export function recentJobs(library: Library, options: { state?: JobState; limit?: number } = {}): Job[] {
  return listJobs(library.db, {
    ...(options.state ? { states: [options.state] } : {}),
    ...(options.limit ? { limit: options.limit } : {}),
  });
}

/**
 * Queues a clustering of the active model's vectors. What cannot work — no active model, fewer
 * images than clusters — is refused here (AppError('invalid_input')), not as a failed job later.
 */
export function queueClustering(
  library: Library,
  params: { k: number | 'auto'; range?: [number, number]; umap: boolean; seed: number },
): Job {
  const model = activeModel(library.db);
  if (!model) throw new AppError('invalid_input', 'no active model yet: train one first, then cluster');
  const images = countEmbeddings(library.db, model.id);
  const smallest = params.k === 'auto' ? (params.range?.[0] ?? 2) : params.k;
  if (images < smallest)
    throw new AppError(
      'invalid_input',
      images === 0
        ? 'the library has no images yet: add some first'
        : `k = ${smallest} needs at least ${smallest} images; the library has ${images}`,
    );
  return queueJob(library, 'cluster', params);
}

/** What a server-side import asks for (the `ingest` job's parameters, the folder as the user wrote it). */
export interface ImportRequest {
  folder: string;
  recursive: boolean;
  modality: 'photo' | 'xray';
  labelFromFolder: boolean;
}

/**
 * Queues the import of a folder on this machine as an 'ingest' job (live progress, refused files
 * with reasons, cancel). The folder must lie under an import root, by its written and its real
 * path: AppError('forbidden') otherwise (resolveImportFolder).
 */
export async function queueImport(library: Library, request: ImportRequest): Promise<Job> {
  const folder = await resolveImportFolder(library.config, request.folder);
  return queueJob(library, 'ingest', { ...request, folder });
}

/** Queues moving images to the trash as one job with progress (restorable until the trash is emptied). */
export function queueDeletion(library: Library, ids: readonly number[]): Job {
  return queueJob(library, 'trash', { ids: [...new Set(ids)] });
}

/** Queues the switch to registered model `modelId` (AppError('not_found') when there is none). */
export function queueActivation(library: Library, modelId: number): Job {
  return queueJob(library, 'activate', { modelId: modelOrThrow(library, modelId).id });
}

export function jobOrThrow(library: Library, id: number): Job {
  const job = Number.isInteger(id) && id > 0 ? getJob(library.db, id) : null;
  if (!job) throw new AppError('not_found', `job ${id} not found`);
  return job;
}

export function cancelJob(library: Library, id: number): Job {
  return requestCancel(library.db, id);
}

/** This process, as recorded on the jobs it runs. */
export const WORKER_NAME = `${process.pid}@${hostname()}`;

/** A worker on this machine is dead when its pid no longer runs, or now belongs to a process started after it claimed the job. */
function isDeadWorker(worker: string | null, claimedAt: string | null): boolean {
  if (!worker) return true;
  const [pid, host] = worker.split('@');
  if (host !== hostname() || worker === WORKER_NAME) return false;
  return !processRunningSince(Number(pid), claimedAt ? Date.parse(claimedAt) : Date.now());
}

export interface RunnerOptions {
  /** How often the runner writes its heartbeat and checks for cancellation. Default 1000 ms. */
  heartbeatMs?: number;
  /** A running job silent this long is presumed dead (another host's worker). Default 120 s. */
  staleMs?: number;
  /** Shortest interval between progress writes. Default 500 ms. */
  progressMs?: number;
  /** Remote workers for ingest and embedding (see lib/jobs/remote/); null or absent: all here. */
  remote?: RemoteTransport | null;
}

export function recoverJobs(library: Library, staleMs = 120_000) {
  return recoverStaleJobs(library.db, { resumable: (kind) => JOB_KINDS[kind]?.resumable ?? false, isDead: isDeadWorker, staleMs });
}

/** Claims and runs one queued job; null when the queue is empty. `stop` aborts it (shutdown). */
export async function runNextJob(library: Library, options: RunnerOptions & { stop?: AbortSignal } = {}): Promise<Job | null> {
  const job = claimNextJob(library.db, WORKER_NAME);
  if (!job) return null;
  const controller = new AbortController();
  let cancelled = false;
  const beat = setInterval(() => {
    if (heartbeat(library.db, job.id)) {
      cancelled = true;
      controller.abort();
    }
  }, options.heartbeatMs ?? 1000);
  const onStop = () => controller.abort();
  options.stop?.addEventListener('abort', onStop);
  let lastWrite = 0;
  const progress = (p: JobProgress) => {
    const now = Date.now();
    if (now - lastWrite < (options.progressMs ?? 500) && p.done !== p.total) return;
    lastWrite = now;
    reportProgress(library.db, job.id, p);
  };
  try {
    const kind = jobKind(job.kind);
    const result = await kind.run(kind.schema.parse(job.params), {
      library,
      jobId: job.id,
      signal: controller.signal,
      progress,
      remote: options.remote ?? null,
    });
    finishJob(library.db, job.id, 'succeeded', { result });
  } catch (error) {
    if (cancelled || (isAppError(error, 'cancelled') && !options.stop?.aborted)) {
      finishJob(library.db, job.id, 'cancelled', { error: 'cancelled by request' });
    } else if (options.stop?.aborted && (JOB_KINDS[job.kind]?.resumable ?? false)) {
      library.db.prepare(`UPDATE jobs SET state = 'queued', worker = NULL WHERE id = ?`).run(job.id); // resumes at next start
    } else {
      finishJob(library.db, job.id, 'failed', { error: isAppError(error) ? error.message : `internal error: ${(error as Error).message}` });
    }
  } finally {
    clearInterval(beat);
    options.stop?.removeEventListener('abort', onStop);
  }
  return getJob(library.db, job.id);
}

/**
 * Queues an 'embed' job when live images lack a vector under the active model — an upload that
 * raced a model switch, or a process killed between two steps — unless the count is the one
 * already handled (images whose originals cannot be decoded stay missing; they are not retried
 * forever). Returns the count seen.
 */
export function queueCatchUp(library: Library, handled: number): number {
  const model = activeModel(library.db);
  const missing = model ? countImagesWithoutEmbedding(library.db, model.id) : 0;
  if (missing > 0 && missing !== handled) queueJob(library, 'embed', {});
  return missing;
}

/**
 * Queues a re-embed of every image (`embed {all: true}`) when the active model's stored vectors were
 * made from model inputs prepared by an older version of this code than today's
 * (MODEL_INPUT_VERSION): a query is prepared today's way, so it would be compared with slightly
 * different things. Searches keep working meanwhile (vectors are replaced in place). Once per model
 * per `handled` (the model id returned last time): a re-embed cancelled or failed is queued again at
 * the worker's next start or the next switch to that model, not in a loop. A model with no vector
 * stored is simply recorded as current. Returns the model id handled (null: nothing to do).
 */
export function queueInputUpgrade(library: Library, handled: number | null): number | null {
  const model = activeModel(library.db);
  if (!model || vectorsInputVersion(library.db, model.id) >= MODEL_INPUT_VERSION) return null;
  if (countEmbeddings(library.db, model.id) === 0) {
    markVectorsInputCurrent(library, model.id);
    return null;
  }
  if (model.id === handled) return handled;
  try {
    queueJob(library, 'embed', { all: true, reason: 'input-version' });
  } catch (error) {
    if (!isAppError(error, 'conflict')) throw error; // one is already queued or running (by hand, or another worker)
  }
  return model.id;
}

/**
 * Runs jobs until `stop` aborts: recovers dead workers' jobs first, then polls the queue; when
 * idle, it also makes sure every image is searchable under the active model (queueCatchUp) with
 * vectors made the way a query is prepared today (queueInputUpgrade, which embeds missing images too).
 */
export async function runJobs(
  library: Library,
  options: RunnerOptions & {
    stop: AbortSignal;
    idleMs?: number;
    catchUpMs?: number;
    onJob?: (job: Job) => void;
    /** Lines worth a log: the remote transport's state at start. */
    onNotice?: (line: string) => void;
  },
): Promise<void> {
  // With LATENT_ATLAS_REDIS_URL, ingest and embedding go to remote workers. Redis away at start is
  // said clearly here; those jobs then fail with the same message, everything else runs as usual.
  const remote = options.remote !== undefined || !library.config.redisUrl ? null : RemoteTransport.open(library.config.redisUrl);
  if (remote)
    await remote.check().then(
      () => options.onNotice?.(`remote workers: batches go through Redis at ${remote.description}`),
      (error: Error) => options.onNotice?.(`${error.message} (other jobs run as usual)`),
    );
  try {
    await runJobLoop(library, { ...options, remote: options.remote ?? remote });
  } finally {
    await remote?.close();
  }
}

async function runJobLoop(
  library: Library,
  options: RunnerOptions & { stop: AbortSignal; idleMs?: number; catchUpMs?: number; onJob?: (job: Job) => void },
): Promise<void> {
  recoverJobs(library, options.staleMs);
  let handled = -1;
  let upgraded: number | null = null;
  let checked = 0;
  while (!options.stop.aborted) {
    const job = await runNextJob(library, options);
    if (job) {
      options.onJob?.(job);
      continue;
    }
    if (Date.now() - checked > (options.catchUpMs ?? 5000)) {
      // A re-embed just queued embeds the missing images too: no catch-up beside it.
      const previous: number | null = upgraded;
      upgraded = queueInputUpgrade(library, upgraded);
      if (upgraded === null || upgraded === previous) handled = queueCatchUp(library, handled);
      checked = Date.now();
    }
    await new Promise((resolve) => setTimeout(resolve, options.idleMs ?? 500));
  }
}
