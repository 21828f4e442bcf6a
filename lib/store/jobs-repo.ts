/**
 * Durable jobs: queued → running → succeeded | failed | cancelled, with progress, a heartbeat,
 * a cancel flag and a de-duplication key (two jobs of the same kind on the same input are never
 * active at once — a partial unique index enforces it).
 */
import { AppError } from '../errors';
import { immediate, type Db } from './database';

export const JOB_STATES = Object.freeze(['queued', 'running', 'succeeded', 'failed', 'cancelled'] as const);
export type JobState = (typeof JOB_STATES)[number];

export interface JobProgress {
  done?: number;
  total?: number;
  phase?: string;
  imagesPerSec?: number;
  etaSeconds?: number;
  loss?: number;
  /** Training: the loss (and validation loss) of each finished epoch, for a live curve. */
  history?: { epoch: number; loss: number; valLoss: number | null }[];
  message?: string;
}

export interface Job {
  id: number;
  kind: string;
  params: Record<string, unknown>;
  state: JobState;
  progress: JobProgress;
  result: unknown;
  error: string | null;
  attempts: number;
  cancelRequested: boolean;
  worker: string | null;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  heartbeatAt: string | null;
}

interface Row {
  id: number;
  kind: string;
  params: string;
  state: JobState;
  progress: string;
  result: string | null;
  error: string | null;
  attempts: number;
  cancel_requested: number;
  worker: string | null;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  finished_at: string | null;
  heartbeat_at: string | null;
}

const toJob = (r: Row): Job => ({
  id: r.id,
  kind: r.kind,
  params: JSON.parse(r.params),
  state: r.state,
  progress: JSON.parse(r.progress),
  result: r.result ? JSON.parse(r.result) : null,
  error: r.error,
  attempts: r.attempts,
  cancelRequested: r.cancel_requested === 1,
  worker: r.worker,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
  heartbeatAt: r.heartbeat_at,
});

const now = () => new Date().toISOString();

export function enqueueJob(db: Db, kind: string, params: Record<string, unknown>, dedupeKey: string): Job {
  return immediate(db, () => {
    const active = db.prepare(`SELECT id FROM jobs WHERE dedupe_key = ? AND state IN ('queued', 'running')`).pluck().get(dedupeKey) as
      number | undefined;
    if (active) throw new AppError('conflict', `an identical ${kind} job (${active}) is already queued or running`);
    const info = db
      .prepare(`INSERT INTO jobs (kind, params, state, dedupe_key, created_at, updated_at) VALUES (?, ?, 'queued', ?, ?, ?)`)
      .run(kind, JSON.stringify(params), dedupeKey, now(), now());
    return getJob(db, Number(info.lastInsertRowid))!;
  });
}

export function getJob(db: Db, id: number): Job | null {
  const row = db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as Row | undefined;
  return row ? toJob(row) : null;
}

export function listJobs(db: Db, options: { states?: JobState[]; limit?: number } = {}): Job[] {
  const states = options.states ?? [...JOB_STATES];
  const rows = db
    .prepare(`SELECT * FROM jobs WHERE state IN (${states.map(() => '?').join(',')}) ORDER BY id DESC LIMIT ?`)
    .all(...states, options.limit ?? 100) as Row[];
  return rows.map(toJob);
}

/** Takes the oldest queued job for `worker`, or null. */
export function claimNextJob(db: Db, worker: string): Job | null {
  return immediate(db, () => {
    const row = db.prepare(`SELECT * FROM jobs WHERE state = 'queued' ORDER BY id LIMIT 1`).get() as Row | undefined;
    if (!row) return null;
    db.prepare(
      `UPDATE jobs SET state = 'running', worker = ?, attempts = attempts + 1, started_at = ?, heartbeat_at = ?, updated_at = ? WHERE id = ?`,
    ).run(worker, now(), now(), now(), row.id);
    return getJob(db, row.id);
  });
}

export function reportProgress(db: Db, id: number, progress: JobProgress): void {
  db.prepare('UPDATE jobs SET progress = ?, heartbeat_at = ?, updated_at = ? WHERE id = ?').run(JSON.stringify(progress), now(), now(), id);
}

export function heartbeat(db: Db, id: number): boolean {
  db.prepare('UPDATE jobs SET heartbeat_at = ? WHERE id = ?').run(now(), id);
  return (db.prepare('SELECT cancel_requested FROM jobs WHERE id = ?').pluck().get(id) as number | undefined) === 1;
}

export function finishJob(
  db: Db,
  id: number,
  state: 'succeeded' | 'failed' | 'cancelled',
  outcome: { result?: unknown; error?: string },
): void {
  db.prepare('UPDATE jobs SET state = ?, result = ?, error = ?, finished_at = ?, updated_at = ? WHERE id = ?').run(
    state,
    outcome.result === undefined ? null : JSON.stringify(outcome.result),
    outcome.error ?? null,
    now(),
    now(),
    id,
  );
}

/** Asks a job to stop: a queued one is cancelled at once, a running one at its next check. */
export function requestCancel(db: Db, id: number): Job {
  return immediate(db, () => {
    const job = getJob(db, id);
    if (!job) throw new AppError('not_found', `job ${id} not found`);
    if (job.state === 'queued') finishJob(db, id, 'cancelled', { error: 'cancelled before it started' });
    else if (job.state === 'running') db.prepare('UPDATE jobs SET cancel_requested = 1, updated_at = ? WHERE id = ?').run(now(), id);
    return getJob(db, id)!;
  });
}

/**
 * Running jobs whose worker is gone (known dead, or silent for longer than `staleMs`): resumable
 * kinds go back to the queue, others fail with the reason. Returns what was done.
 */
export function recoverStaleJobs(
  db: Db,
  options: {
    resumable: (kind: string) => boolean;
    isDead: (worker: string | null, claimedAt: string | null) => boolean;
    staleMs: number;
    maxAttempts?: number;
  },
): { requeued: number[]; failed: number[] } {
  const { resumable, isDead, staleMs, maxAttempts = 3 } = options;
  return immediate(db, () => {
    const cutoff = new Date(Date.now() - staleMs).toISOString();
    const stale = (db.prepare(`SELECT * FROM jobs WHERE state = 'running'`).all() as Row[]).filter(
      (row) => isDead(row.worker, row.started_at) || row.heartbeat_at === null || row.heartbeat_at < cutoff,
    );
    const out = { requeued: [] as number[], failed: [] as number[] };
    for (const row of stale) {
      if (row.cancel_requested === 1) {
        finishJob(db, row.id, 'cancelled', { error: 'cancelled; its worker stopped before confirming' });
      } else if (resumable(row.kind) && row.attempts < maxAttempts) {
        db.prepare(`UPDATE jobs SET state = 'queued', worker = NULL, updated_at = ? WHERE id = ?`).run(now(), row.id);
        out.requeued.push(row.id);
      } else {
        finishJob(db, row.id, 'failed', {
          error: resumable(row.kind)
            ? `its worker stopped ${row.attempts} times; giving up`
            : 'its worker stopped while it ran (a crash or kill); queue it again to restart it',
        });
        out.failed.push(row.id);
      }
    }
    return out;
  });
}
