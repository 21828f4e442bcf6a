/**
 * A remote worker (`npm run worker -- --remote <app URL>`): takes batches from the BullMQ queue,
 * fetches their originals from the app with the access token, embeds them with the model the
 * batch names (downloaded once, cached by id and fingerprint) and returns the vectors as the job's
 * result. A block of a near-duplicate search is answered from the run's index snapshot (downloaded
 * once per run): each row's nearest neighbours, by the library's own search function. It holds no
 * library: no SQLite, no files but its model and snapshot caches.
 *
 * Refusals: a worker pinned to one model (`pinnedModel`) refuses batches for another; a cancelled
 * run's batches are dropped (the cancel key is checked before and during a batch); a wrong token
 * stops the worker — no batch can succeed with it.
 */
import { hostname } from 'node:os';
import { UnrecoverableError, Worker, type Job as BullJob } from 'bullmq';
import { isAppError } from '../../errors';
import type { ImageDecode } from '../../images/image-decoder';
import { embedOriginals } from '../../services/batch-embedding';
import { nearestNeighbors } from '../../services/duplicates-service';
import { AppClient } from './app-client';
import {
  BATCH_QUEUE,
  batchDataSchema,
  cancelKey,
  checkInputVersion,
  encodeNeighbors,
  encodeResult,
  fromBase64,
  type BatchResult,
  type NeighborBatch,
} from './batch-protocol';
import { ModelCache } from './model-cache';
import { SnapshotCache } from './snapshot-cache';
import { checkRedis, connectRedis, describeRedisUrl } from './redis';
import { parseOrThrow } from '../../validation';

export interface RemoteWorkerOptions {
  /** The app's base URL, e.g. http://atlas.lan:3000. */
  appUrl: string;
  token: string;
  redisUrl: string;
  /** Where downloaded models are kept. */
  cacheDir: string;
  /** Batches processed at once. Default 1 (the model runs on one core; sharp decodes on its own threads). */
  concurrency?: number;
  /** Refuse batches for any other model than this id. Default: embed with whatever model a batch names. */
  pinnedModel?: number;
  /** A batch whose worker stops renewing its lock this long is stalled and handed to another. Default 30 000 ms. */
  lockMs?: number;
  signal: AbortSignal;
  log?: (line: string) => void;
  /** How originals are decoded (see EmbedBatchOptions.decode). Default: in this process. */
  decode?: ImageDecode;
}

/** Runs until `signal` aborts (finishing the batches in hand) or the app refuses the token (AppError('unauthorized')). */
export async function runRemoteWorker(options: RemoteWorkerOptions): Promise<{ batches: number; images: number }> {
  const name = `${process.pid}@${hostname()}`;
  const log = options.log ?? (() => undefined);
  const client = new AppClient(options.appUrl, options.token);
  const hello = await client.hello();
  const connection = connectRedis(options.redisUrl, { waitForever: true });
  const models = new ModelCache(options.cacheDir, client);
  const snapshots = new SnapshotCache(options.cacheDir, client);
  const stop = new AbortController();
  const onStop = () => stop.abort();
  options.signal.addEventListener('abort', onStop);
  let fatal: unknown = null;
  const done = { batches: 0, images: 0 };
  let worker: Worker | null = null;
  try {
    await checkRedis(connection);
    log(
      `remote worker ${name}: app ${options.appUrl} (active model ${hello.activeModel?.id ?? 'none'}), Redis ${describeRedisUrl(options.redisUrl)}`,
    );
    const processor = async (
      job: BullJob,
      _token?: string,
      signal?: AbortSignal,
    ): Promise<BatchResult | ReturnType<typeof encodeNeighbors>> => {
      const data = parseOrThrow(batchDataSchema, job.data, 'batch');
      if (data.mode === 'neighbors') {
        if ((await connection.redis.exists(cancelKey(data.run))) > 0) throw new UnrecoverableError(`run ${data.run} was cancelled`);
        const lists = await searchBlock(data, snapshots, (n) => void job.updateProgress(n).catch(() => undefined), signal);
        done.batches++;
        done.images += lists.ids.length / data.neighbors;
        log(`batch ${job.id}: neighbours of ${lists.ids.length / data.neighbors} images`);
        return encodeNeighbors(lists, name);
      }
      if (options.pinnedModel !== undefined && data.model.id !== options.pinnedModel)
        throw new Error(`worker ${name} holds model ${options.pinnedModel}; this batch needs model ${data.model.id}: refused`);
      checkInputVersion(data, name); // another release's worker may take it: retried, as above
      const abort = new AbortController();
      const cancelled = () => connection.redis.exists(cancelKey(data.run)).then((n) => n > 0);
      if (await cancelled()) throw new UnrecoverableError(`run ${data.run} was cancelled`);
      const watch = setInterval(() => {
        void cancelled().then(
          (yes) => yes && abort.abort(),
          () => undefined,
        );
      }, 100);
      signal?.addEventListener('abort', () => abort.abort());
      let reported = 0;
      try {
        const model = await models.get(data.model);
        const outcome = await embedOriginals(model, data.images, (hash) => client.original(hash), {
          includePatient: data.includePatient,
          signal: abort.signal,
          ...(options.decode ? { decode: options.decode } : {}),
          onProgress: (n) => {
            if (n - reported < 8 && n < data.images.length) return; // a write to Redis per 8 images
            reported = n;
            void job.updateProgress(n).catch(() => undefined);
          },
        });
        done.batches++;
        done.images += data.images.length;
        log(`batch ${job.id}: ${outcome.embedded.length} embedded, ${outcome.refused.length} refused`);
        return encodeResult(outcome, name);
      } catch (error) {
        if (isAppError(error, 'cancelled')) throw new UnrecoverableError(`run ${data.run} was cancelled`);
        if (isAppError(error, 'unauthorized')) {
          fatal = error;
          stop.abort();
        }
        if (isAppError(error, 'conflict')) throw new UnrecoverableError(error.message); // the model changed: no retry helps
        throw error;
      } finally {
        clearInterval(watch);
      }
    };
    worker = new Worker(BATCH_QUEUE, processor, {
      connection: connection.redis,
      name, // recorded on the batches it takes (processedBy)
      concurrency: options.concurrency ?? 1,
      lockDuration: options.lockMs ?? 30_000,
      stalledInterval: Math.max(1000, Math.round((options.lockMs ?? 30_000) / 2)),
      maxStalledCount: 2,
    });
    worker.on('error', (error) => log(`queue: ${error.message}`));
    worker.on('failed', (job, error) => log(`batch ${job?.id ?? '?'} failed: ${error.message}`)); // a cancel: 'run … was cancelled'
    await new Promise<void>((resolve) => {
      if (stop.signal.aborted) resolve();
      stop.signal.addEventListener('abort', () => resolve());
    });
  } finally {
    options.signal.removeEventListener('abort', onStop);
    await worker?.close(fatal !== null).catch(() => undefined);
    connection.redis.disconnect();
  }
  if (fatal) throw fatal;
  return done;
}

/**
 * A block of a near-duplicate search: its rows' nearest neighbours in the run's index snapshot,
 * searched in slices of 500 rows with the event loop free between them (the lock renewals, a stop).
 */
async function searchBlock(
  data: NeighborBatch,
  snapshots: SnapshotCache,
  progress: (done: number) => void,
  signal?: AbortSignal,
): Promise<ReturnType<typeof nearestNeighbors>> {
  const index = await snapshots.get(data.run, data.snapshot);
  const ids = fromBase64(data.ids, Int32Array);
  const dim = data.snapshot.dim;
  const vectors = fromBase64(data.vectors, Float32Array, ids.length * dim);
  const k = data.neighbors;
  const lists = { neighbors: k, ids: new Int32Array(ids.length * k), distances: new Float32Array(ids.length * k) };
  for (let start = 0; start < ids.length; start += 500) {
    if (signal?.aborted) throw new Error('the worker is stopping');
    const end = Math.min(start + 500, ids.length);
    const slice = nearestNeighbors(index, ids.subarray(start, end), vectors.subarray(start * dim, end * dim), dim, k);
    lists.ids.set(slice.ids, start * k);
    lists.distances.set(slice.distances, start * k);
    progress(end);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return lists;
}
