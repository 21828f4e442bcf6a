/**
 * The library's side of the BullMQ transport: one distributed run (an ingest, a re-embedding, a
 * near-duplicate search) sends its batches to the queue and commits each result as it arrives. The library stays the
 * single writer; workers only compute.
 *
 * Failure handling is BullMQ's: every batch has retries with exponential backoff, and a batch
 * whose worker died is found by BullMQ's stalled-job check and handed to another. What BullMQ
 * cannot see, the run repairs: batch ids are derived from their content, so when Redis comes back
 * empty (restarted without persistence) every batch not yet committed is simply added again, and
 * a result delivered twice is committed once (the store functions are idempotent).
 */
import { Queue, type Job as BullJob } from 'bullmq';
import { AppError } from '../../errors';
import { BATCH_QUEUE, batchJobId, cancelKey, type BatchData } from './batch-protocol';
import { checkRedis, connectRedis, describeRedisUrl, type RedisConnection } from './redis';

export interface RunState {
  /** Images whose batch was committed (or failed for good). */
  imagesDone: number;
  /** Images of batches still out, as far as their workers report. */
  imagesInFlight: number;
  batchesDone: number;
  batchesSent: number;
  /** Batches added again because Redis had lost them (it restarted empty). */
  batchesResent: number;
  /** Batches that BullMQ took back from a worker that stopped renewing its lock (it died) and gave to another. */
  batchesStalled: number;
  /** Workers connected to the queue (null when Redis does not say). */
  workers: number | null;
  /** Set while Redis is unreachable: the run waits for it. */
  outage: string | null;
}

/** A run's batches are lists of items (images, or rows of a search): progress counts items. */
export interface RunSpec<T, R> {
  /** Unique per library job, e.g. 'ingest-12': a resumed job finds its batches again. */
  run: string;
  batches: AsyncIterable<T[]> | Iterable<T[]>;
  /** A batch as its job's data, and what names its content (the same batch again: the same job id). */
  payload: (batch: T[]) => { data: BatchData; content: string[] };
  /** A job's return value, checked (throws when it does not fit: the batch then counts as failed). */
  decode: (value: unknown, batch: T[]) => R;
  /** Commits one batch's result (idempotent). */
  store: (batch: T[], result: R) => Promise<void>;
  /** Called for a batch that failed every attempt (the reason is BullMQ's last error). */
  failed: (batch: T[], reason: string) => Promise<void>;
  /** Called when cancelled, with the batches never committed. */
  abandoned?: (batches: T[][]) => Promise<void>;
  signal?: AbortSignal;
  onProgress?: (state: RunState) => void;
}

export interface TransportOptions {
  /** Attempts per batch before it fails for good. Default 5. */
  attempts?: number;
  /** First retry delay, doubled each attempt. Default 1000 ms. */
  backoffMs?: number;
  /** How often the run looks for results. Default 200 ms. */
  pollMs?: number;
  /** How often it checks that every batch still exists in Redis (re-adding lost ones). Default 2000 ms. */
  reconcileMs?: number;
  /** How long a run waits for Redis to answer at its start before it fails with the reason. Default 5000 ms. */
  checkMs?: number;
}

/** Waits `ms`, or less when `signal` aborts first (a cancel is acted on at once). */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done);
  });
}

export class RemoteTransport {
  private constructor(
    private readonly connection: RedisConnection,
    private readonly queue: Queue,
    private readonly options: Required<TransportOptions>,
  ) {}

  /** Connects lazily: nothing fails here when Redis is away; a run says so clearly (see `check`). */
  static open(url: string, options: TransportOptions = {}): RemoteTransport {
    const connection = connectRedis(url, { waitForever: false });
    const queue = new Queue(BATCH_QUEUE, { connection: connection.redis });
    queue.on('error', () => undefined); // connection errors are reported by the run, not as unhandled events
    return new RemoteTransport(connection, queue, {
      attempts: options.attempts ?? 5,
      backoffMs: options.backoffMs ?? 1000,
      pollMs: options.pollMs ?? 200,
      reconcileMs: options.reconcileMs ?? 2000,
      checkMs: options.checkMs ?? 5000,
    });
  }

  get description(): string {
    return describeRedisUrl(this.connection.url);
  }

  /** AppError('backend_unavailable') with the URL and the cause when Redis does not answer in `timeoutMs`. */
  check(timeoutMs = this.options.checkMs): Promise<void> {
    return checkRedis(this.connection, timeoutMs);
  }

  /**
   * Sends `spec.batches` through the queue and commits every result; resolves when every batch is
   * committed or failed for good. Throws AppError('cancelled') when `spec.signal` aborts: the
   * run's waiting batches are removed and workers drop the ones they hold.
   */
  async distribute<T, R>(spec: RunSpec<T, R>): Promise<void> {
    await this.check();
    await this.connection.redis.del(cancelKey(spec.run));
    await this.removeOtherRuns(spec.run);
    const pending = new Map<string, T[]>();
    const state: RunState = {
      imagesDone: 0,
      imagesInFlight: 0,
      batchesDone: 0,
      batchesSent: 0,
      batchesResent: 0,
      batchesStalled: 0,
      workers: null,
      outage: null,
    };
    let producing = true;
    let producerError: unknown = null;
    const unsent: T[][] = []; // staged after a cancel: never sent, abandoned with the rest
    const producer = (async () => {
      for await (const images of spec.batches) {
        if (spec.signal?.aborted) {
          unsent.push(images);
          continue;
        }
        const { data, content } = spec.payload(images);
        const id = batchJobId(spec.run, content);
        if (pending.has(id)) continue;
        pending.set(id, images);
        state.batchesSent++;
        await this.retryWhileAway(() => this.add(id, data), spec.signal, state);
      }
    })()
      .catch((error: unknown) => {
        producerError = error;
      })
      .finally(() => {
        producing = false;
      });

    let reconciled = Date.now();
    let counted = 0;
    while (producing || pending.size > 0) {
      if (producerError) throw producerError;
      if (spec.signal?.aborted) {
        await this.connection.redis.set(cancelKey(spec.run), '1', 'EX', 86_400).catch(() => undefined); // workers first
        await producer;
        await this.cancel(spec, pending, unsent);
        throw new AppError('cancelled', `the run was cancelled with ${pending.size} batches not committed (the others are kept)`);
      }
      try {
        await this.collect(spec, pending, state);
        if (Date.now() - reconciled > this.options.reconcileMs) {
          state.batchesResent += await this.reconcile(spec, pending);
          reconciled = Date.now();
        }
        if (Date.now() - counted > 2000) {
          state.workers = await this.queue.getWorkersCount().catch(() => null);
          counted = Date.now();
        }
        state.outage = null;
      } catch (error) {
        if (this.connection.redis.status === 'ready') throw error;
        state.outage = `Redis at ${this.description} is unreachable (${this.connection.lastError() ?? 'reconnecting'}); waiting for it`;
      }
      spec.onProgress?.({ ...state });
      await sleep(this.options.pollMs, spec.signal);
    }
    await producer;
    if (producerError) throw producerError;
    spec.onProgress?.({ ...state, imagesInFlight: 0 });
  }

  private add(id: string, data: BatchData): Promise<unknown> {
    return this.queue.add(data.mode, data, {
      jobId: id,
      attempts: this.options.attempts,
      backoff: { type: 'exponential', delay: this.options.backoffMs },
      // Results are collected and removed by the run; what a cancelled run leaves goes after a day.
      removeOnComplete: { age: 86_400 },
      removeOnFail: { age: 86_400 },
    });
  }

  /** Commits the finished batches of this run, and records the ones that failed for good. */
  private async collect<T, R>(spec: RunSpec<T, R>, pending: Map<string, T[]>, state: RunState): Promise<void> {
    for (const kind of ['completed', 'failed'] as const) {
      for (const job of await this.queue.getJobs([kind], 0, 999)) {
        const images = job.id ? pending.get(job.id) : undefined;
        if (!job.id || !images) continue;
        await this.finish(spec, images, kind === 'completed' ? { value: job.returnvalue as unknown } : { reason: job.failedReason });
        pending.delete(job.id);
        if (job.stalledCounter > 0) state.batchesStalled++;
        state.imagesDone += images.length;
        state.batchesDone++;
        await job.remove().catch(() => undefined);
      }
    }
    const active = await this.queue.getActive(0, 999);
    state.imagesInFlight = active.reduce((sum, job) => sum + (job.id && pending.has(job.id) ? progressOf(job) : 0), 0);
  }

  /** Commits a completed batch; one whose result does not check out counts as failed, with the reason. */
  private async finish<T, R>(spec: RunSpec<T, R>, images: T[], end: { value: unknown } | { reason: string }): Promise<void> {
    if ('reason' in end) return spec.failed(images, end.reason || 'failed without a reason');
    let result: R;
    try {
      result = spec.decode(end.value, images);
    } catch (error) {
      return spec.failed(images, (error as Error).message);
    }
    await spec.store(images, result);
  }

  /** Adds again every pending batch Redis no longer has (it restarted empty, or lost the keys). */
  private async reconcile<T, R>(spec: RunSpec<T, R>, pending: Map<string, T[]>): Promise<number> {
    const ids = [...pending.keys()];
    let added = 0;
    for (let s = 0; s < ids.length; s += 100) {
      const chunk = ids.slice(s, s + 100);
      const states = await Promise.all(chunk.map((id) => this.queue.getJobState(id)));
      for (const [i, jobState] of states.entries()) {
        if (jobState !== 'unknown') continue;
        await this.add(chunk[i]!, spec.payload(pending.get(chunk[i]!)!).data);
        added++;
      }
    }
    return added;
  }

  private async cancel<T, R>(spec: RunSpec<T, R>, pending: Map<string, T[]>, unsent: T[][]): Promise<void> {
    try {
      await this.connection.redis.set(cancelKey(spec.run), '1', 'EX', 86_400);
      for (const id of pending.keys()) await this.queue.remove(id).catch(() => 0); // an active (locked) one stays; its worker drops it
    } catch {
      // Redis away: its batches can only be dropped when it returns; workers check the key first
    }
    await spec.abandoned?.([...pending.values(), ...unsent]);
  }

  /** Removes batches of earlier runs (a crashed or cancelled job's leftovers): one run at a time per library. */
  private async removeOtherRuns(run: string): Promise<void> {
    const stale = await this.queue.getJobs(['waiting', 'delayed', 'prioritized', 'completed', 'failed'], 0, -1);
    for (const job of stale) {
      if (job.id && !job.id.startsWith(`${run}.`)) await job.remove().catch(() => undefined);
    }
  }

  private async retryWhileAway(action: () => Promise<unknown>, signal: AbortSignal | undefined, state: RunState): Promise<void> {
    for (;;) {
      try {
        await action();
        return;
      } catch (error) {
        if (this.connection.redis.status === 'ready' || signal?.aborted) throw error;
        state.outage = `Redis at ${this.description} is unreachable; waiting for it`;
        await sleep(500);
      }
    }
  }

  /** The batches workers hold now: which worker (pid@host), and how many of its images it has reported done. */
  async activeBatches(): Promise<{ id: string; worker: string | null; done: number }[]> {
    const active = await this.queue.getActive(0, 999);
    return active.map((job) => ({ id: job.id ?? '', worker: job.processedBy ?? null, done: progressOf(job) }));
  }

  /** Batches in the queue by state (waiting, active, delayed, completed, failed). */
  counts(): Promise<Record<string, number>> {
    return this.queue.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed');
  }

  async close(): Promise<void> {
    await this.queue.close().catch(() => undefined);
    this.connection.redis.disconnect();
  }
}

function progressOf(job: BullJob): number {
  return typeof job.progress === 'number' ? job.progress : 0;
}
