/**
 * The crash loop (issue 7): starts the whole app (scripts/start.ts: the built web server and the
 * job worker) on one data directory, keeps it busy — uploads and deletes through the HTTP API, and
 * in turn a folder ingest, a training run that checkpoints every epoch, a clustering run and a
 * model switch that re-embeds and re-indexes everything — and kills the whole process group with
 * SIGKILL at a random moment. After each kill, with the app down, it checks what a user relies on:
 *
 * - SQLite's `integrity_check` passes;
 * - every upload the server acknowledged is stored, under the id it was given, with an original
 *   whose SHA-256 is its content hash; every acknowledged delete stays deleted;
 * - every stored image has a vector under the active model;
 * - the active model's index, as the app opens it, holds exactly the stored vectors;
 * and, after the restart, that no job is left running for a dead worker.
 *
 * Used by the short e2e test (test/e2e/crash.spec.ts) and by `npm run bench:crash` (long runs).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { parseConfig } from '../../lib/config';
import { loadFashionMnist } from '../../lib/data/fashion-mnist';
import { isAppError } from '../../lib/errors';
import { queueJob } from '../../lib/jobs/job-service';
import type { ImageSet } from '../../lib/data/image-set';
import { seededRandom } from '../../lib/random';
import { openLibrary, type Library } from '../../lib/services/library';
import { countImagesWithoutEmbedding } from '../../lib/store/embeddings-repo';
import { listJobs } from '../../lib/store/jobs-repo';
import { activeModel, listModels } from '../../lib/store/models-repo';
import { freePort } from '../e2e/atlas';
import { checkLibrary } from '../helpers/consistency';
import { addModel } from '../helpers/library';

export interface CrashLoopOptions {
  cycles: number;
  /** Each cycle kills the app at a random moment up to this many seconds after it answers. Default 6. */
  maxRunSeconds?: number;
  /** Seed of the kill moments, the work chosen and the images. Default 1. */
  seed?: number;
  /** One line per cycle (progress). */
  log?: (line: string) => void;
}

/** What one kill interrupted, and what the checks found. */
export interface CycleReport {
  cycle: number;
  killedAfterMs: number;
  /** The job running at the kill ('idle' when none), with its phase. */
  interrupted: string;
  uploadsInFlight: number;
  /** How the restarted app found the index: loaded as saved, reconciled with the store, or rebuilt. */
  index: string;
  /** Live images without a vector under the active model right after the kill (the restart embeds them). */
  unembedded: number;
  violations: string[];
}

export interface CrashLoopReport {
  cycles: number;
  /** Cycles after which every check passed. */
  survived: number;
  interrupted: Record<string, number>;
  acknowledgedUploads: number;
  acknowledgedDeletes: number;
  images: number;
  index: Record<string, number>;
  jobs: Record<string, number>;
  /** Why jobs failed, with counts (only "killed three times, giving up" and "too few images" are by design). */
  jobFailures: Record<string, number>;
  /** Most live images without a vector right after a kill. */
  maxUnembedded: number;
  /** Searches by id answered while the app ran (during ingest, training, clustering, re-indexing). */
  searches: number;
  /** Searches answered with an error other than 404 (HTTP status → count): must be none. */
  searchErrors: Record<string, number>;
  /** Temp files of interrupted atomic writes left in the data directory at the end (must be none). */
  tempFiles: string[];
  violations: string[];
  seconds: number;
}

const WORK = ['ingest', 'train', 'cluster', 'switch'] as const;
const TINY_SPEC = { arch: 'conv', inputShape: [28, 28, 1], latentSize: 8, filters: [4, 8], downsample: 'stride', upsampling: 'transposed' };

/** Fashion-MNIST image `i` of `set` as a PNG, made unique by two marker pixels (so no two uploads share a hash). */
function uniquePng(set: ImageSet, i: number, mark: number): Promise<Buffer> {
  const pixels = Uint8Array.from(set.pixels.subarray((i % set.count) * 784, (i % set.count) * 784 + 784));
  pixels[0] = mark & 0xff;
  pixels[1] = (mark >>> 8) & 0xff;
  pixels[2] = (mark >>> 16) & 0xff;
  return sharp(pixels, { raw: { width: 28, height: 28, channels: 1 } })
    .png()
    .toBuffer();
}

interface App {
  child: ChildProcess;
  baseURL: string;
  output: () => string;
}

async function startApp(dataDir: string, port: number): Promise<App> {
  let output = '';
  // Its own process group, so that one kill takes the worker and the Next.js server it spawned.
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
    env: { ...process.env, LATENT_ATLAS_DATA_DIR: dataDir, LATENT_ATLAS_PORT: String(port), LATENT_ATLAS_HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  child.stdout!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
  child.stderr!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
  const baseURL = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the app exited (${child.exitCode}):\n${output}`);
    if (
      await fetch(`${baseURL}/api/health`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return { child, baseURL, output: () => output };
    if (Date.now() > deadline) throw new Error(`the app did not answer within 120 s:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function killApp(app: App): Promise<void> {
  const exited = app.child.exitCode !== null || app.child.signalCode !== null ? null : new Promise((r) => app.child.once('exit', r));
  try {
    process.kill(-app.child.pid!, 'SIGKILL'); // the whole group, even if its leader is gone already
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
  await exited;
  // The group's other members (the Next.js server) die with it; wait until the port is free.
  for (
    let i = 0;
    i < 100 &&
    (await fetch(`${app.baseURL}/api/health`).then(
      () => true,
      () => false,
    ));
    i++
  )
    await new Promise((r) => setTimeout(r, 50));
}

/** Uploads and deletes through the API until `stop`, recording what the server acknowledged. */
class Traffic {
  readonly uploads = new Map<number, string>(); // image id → content hash, acknowledged
  readonly deletes = new Set<number>(); // acknowledged deletes
  readonly deleteAttempts = new Set<number>(); // asked for; a kill may cut the answer after the delete committed
  inFlight = 0;
  /** Searches answered with anything but results or a 404 (an image deleted meanwhile): status → count. */
  readonly searchErrors = new Map<number, number>();
  searches = 0;
  private next = 0;

  constructor(
    private readonly set: ImageSet,
    private readonly rand: () => number,
  ) {}

  /** Searches by the id of an acknowledged upload, as a user clicking "more like this" does. */
  async search(baseURL: string, stop: AbortSignal): Promise<void> {
    while (!stop.aborted) {
      const live = [...this.uploads.keys()].filter((id) => !this.deletes.has(id));
      if (!live.length) {
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      const imageId = live[Math.floor(this.rand() * live.length)]!;
      try {
        const response = await fetch(`${baseURL}/api/search`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ imageId, k: 10 }),
          signal: stop,
        });
        await response.arrayBuffer();
        this.searches++;
        if (response.status !== 200 && response.status !== 404)
          this.searchErrors.set(response.status, (this.searchErrors.get(response.status) ?? 0) + 1);
      } catch {
        // cut short by the kill
      }
    }
  }

  async run(baseURL: string, stop: AbortSignal): Promise<void> {
    while (!stop.aborted) {
      const live = [...this.uploads.keys()].filter((id) => !this.deletes.has(id));
      this.inFlight++;
      try {
        // A fifth of the requests delete, once a few uploads are live; until one delete is acknowledged,
        // the next request after those few is one (a loaded machine acknowledges only a handful a run).
        if (live.length > 3 && (this.deletes.size === 0 || this.rand() < 0.2)) {
          const id = live[Math.floor(this.rand() * live.length)]!;
          this.deleteAttempts.add(id);
          const response = await fetch(`${baseURL}/api/images/${id}`, { method: 'DELETE', signal: stop });
          if (response.ok) this.deletes.add(id);
        } else {
          const n = this.next++;
          const png = await uniquePng(this.set, n, n + 1);
          const form = new FormData();
          form.append('file', new Blob([new Uint8Array(png)], { type: 'image/png' }), `upload-${n}.png`);
          const response = await fetch(`${baseURL}/api/images`, { method: 'POST', body: form, signal: stop });
          if (response.ok) {
            const body = (await response.json()) as { results: { id: number; status: string }[] };
            const id = body.results[0]!.id;
            this.uploads.set(id, createHash('sha256').update(png).digest('hex'));
          }
        }
      } catch {
        // The kill (or the stop) cut the request short: it was never acknowledged.
      } finally {
        this.inFlight--;
      }
    }
  }
}

/** Queues a job unless an identical one is still queued or running from an earlier cycle. */
function queueOnce(library: Library, kind: string, params: unknown): void {
  try {
    queueJob(library, kind, params);
  } catch (error) {
    if (!isAppError(error) || error.code !== 'conflict') throw error;
  }
}

/** Queues this cycle's background work. */
async function queueWork(library: Library, work: (typeof WORK)[number], cycle: number, folders: string, set: ImageSet): Promise<void> {
  switch (work) {
    case 'ingest': {
      const folder = join(folders, `cycle-${cycle}`);
      mkdirSync(folder, { recursive: true });
      for (let i = 0; i < 300; i++)
        writeFileSync(join(folder, `${i}.png`), await uniquePng(set, cycle * 300 + i, 0x800000 + cycle * 300 + i));
      queueOnce(library, 'ingest', { folder });
      return;
    }
    case 'train':
      // A run longer than a cycle (the same output folder each time): a kill lands in it or in its
      // per-epoch checkpoint, and the restarted worker resumes it from the last checkpoint.
      queueOnce(library, 'train', {
        data: 'fashion-mnist',
        limit: 1024,
        spec: TINY_SPEC,
        options: { epochs: 5, batchSize: 64, validationSplit: 0 },
        outDir: join(library.config.modelsDir, 'crash-train'),
      });
      return;
    case 'cluster':
      queueOnce(library, 'cluster', { k: 4, seed: cycle });
      return;
    case 'switch': {
      // Re-embeds every stored image under the other model, builds its index, then switches.
      const other = listModels(library.db).find((m) => m.name.startsWith('crash-model-') && !m.active);
      if (other) queueOnce(library, 'activate', { modelId: other.id });
      return;
    }
  }
}

/** The checks, with the app down: the library's own (test/helpers/consistency.ts), then what the traffic was told. */
function check(library: Library, traffic: Traffic): { violations: string[]; index: string; unembedded: number } {
  const { violations, index, unembedded, stored } = checkLibrary(library);
  const problems = { back: [] as number[], missing: [] as number[] };
  for (const [id, hash] of traffic.uploads) {
    if (traffic.deletes.has(id)) {
      if (stored.has(id)) problems.back.push(id);
    } else if (!stored.has(id) && traffic.deleteAttempts.has(id)) {
      // A delete whose answer the kill cut off: it may have been committed, and that is fine.
    } else if (stored.get(id) !== hash) {
      problems.missing.push(id);
    }
  }
  const some = (ids: number[]) => `${ids.length} (e.g. ${ids.slice(0, 5).join(', ')})`;
  if (problems.back.length) violations.push(`acknowledged deletes undone: ${some(problems.back)}`);
  if (problems.missing.length) violations.push(`acknowledged uploads missing or stored under another hash: ${some(problems.missing)}`);
  return { violations, index, unembedded };
}

/** Jobs left 'running' for a worker other than the live app's, after the restart has had time to recover them. */
async function stuckJobs(library: Library, app: App): Promise<string[]> {
  const worker = `${app.child.pid}@${hostname()}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    const stuck = listJobs(library.db, { states: ['running'], limit: 100 }).filter((j) => j.worker !== worker);
    if (!stuck.length) return [];
    if (Date.now() > deadline) return stuck.map((j) => `job ${j.id} (${j.kind}) still running for dead worker ${j.worker}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function tally(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of values) counts[v] = (counts[v] ?? 0) + 1;
  return counts;
}

export async function crashLoop(options: CrashLoopOptions): Promise<CrashLoopReport> {
  if (!existsSync('.next/BUILD_ID')) throw new Error('the web app is not built: run `npm run build` first');
  const rand = seededRandom(options.seed ?? 1);
  const maxRunMs = (options.maxRunSeconds ?? 6) * 1000;
  const log = options.log ?? (() => {});
  const started = performance.now();
  const dataDir = mkdtempSync(join(tmpdir(), 'atlas-crash-'));
  const folders = join(dataDir, 'incoming');
  const config = parseConfig({ LATENT_ATLAS_DATA_DIR: dataDir, LATENT_ATLAS_WORKERS: '1' });
  const set = await loadFashionMnist('train', { limit: 5000 });
  const traffic = new Traffic(set, rand);
  const cycles: CycleReport[] = [];
  const setup = openLibrary(config);
  // Two untrained models of one architecture: the 'switch' work moves between them.
  await addModel(setup, 'crash-model-a', 8, true);
  await addModel(setup, 'crash-model-b', 8);
  setup.close();
  const port = await freePort();
  let app: App | null = null;
  // Interrupted (Ctrl-C, a test timeout): take the app's process group down too, not just this process.
  const onSignal = (signal: NodeJS.Signals) => {
    if (app?.child.pid)
      try {
        process.kill(-app.child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    rmSync(dataDir, { recursive: true, force: true, maxRetries: 3 });
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  try {
    for (let cycle = 1; cycle <= options.cycles; cycle++) {
      app = await startApp(dataDir, port);
      const library = openLibrary(config);
      const violations = await stuckJobs(library, app);
      const work = WORK[Math.floor(rand() * WORK.length)]!;
      await queueWork(library, work, cycle, folders, set);
      const stop = new AbortController();
      const running = [
        traffic.run(app.baseURL, stop.signal),
        traffic.run(app.baseURL, stop.signal),
        traffic.search(app.baseURL, stop.signal),
      ];
      const killedAfterMs = Math.round(300 + rand() * (maxRunMs - 300));
      await new Promise((r) => setTimeout(r, killedAfterMs));
      const uploadsInFlight = traffic.inFlight;
      await killApp(app);
      stop.abort();
      await Promise.all(running);
      const [job] = listJobs(library.db, { states: ['running'], limit: 1 });
      const interrupted = job ? `${job.kind}${job.progress.phase ? `:${job.progress.phase}` : ''}` : 'idle';
      const checked = check(library, traffic);
      library.close();
      const report: CycleReport = {
        cycle,
        killedAfterMs,
        interrupted,
        uploadsInFlight,
        index: checked.index,
        unembedded: checked.unembedded,
        violations: [...violations, ...checked.violations],
      };
      cycles.push(report);
      log(
        `cycle ${cycle}/${options.cycles}: ${work} queued, killed after ${killedAfterMs} ms during ${interrupted}` +
          ` (${uploadsInFlight} requests in flight), index ${report.index}, ${report.unembedded} unembedded` +
          (report.violations.length ? ` — ${report.violations.join('; ')}` : ', all checks pass'),
      );
    }
    // A last start: the recovered queue runs on (a training run still going is cancelled) and empties.
    app = await startApp(dataDir, port);
    const library = openLibrary(config);
    const final = await stuckJobs(library, app);
    const drained = await drain(library, app);
    if (drained) final.push(drained);
    await killApp(app);
    const checked = check(library, traffic);
    final.push(...checked.violations);
    if (checked.unembedded) final.push(`${checked.unembedded} live images still have no vector under the active model`);
    const images = library.db.prepare('SELECT count(*) FROM images WHERE deleted_at IS NULL').pluck().get() as number;
    const jobs = Object.fromEntries(
      (library.db.prepare('SELECT state, count(*) AS n FROM jobs GROUP BY state').all() as { state: string; n: number }[]).map((r) => [
        r.state,
        r.n,
      ]),
    );
    const jobFailures = tally(
      (library.db.prepare(`SELECT kind, error FROM jobs WHERE state = 'failed'`).all() as { kind: string; error: string }[]).map(
        (j) => `${j.kind}: ${j.error}`,
      ),
    );
    // Failures by design: a job killed three times gives up; a clustering queued before enough
    // images arrived has too few to cluster. Any other failure (an unreadable checkpoint, say) is a bug.
    const expected = /stopped \d+ times; giving up|has no images yet|larger than the number of vectors/;
    for (const failure of Object.keys(jobFailures)) if (!expected.test(failure)) final.push(`a job failed: ${failure}`);
    library.close();
    return {
      cycles: cycles.length,
      survived: cycles.filter((c) => c.violations.length === 0).length,
      interrupted: tally(cycles.map((c) => c.interrupted.split(':')[0]!)),
      acknowledgedUploads: traffic.uploads.size,
      acknowledgedDeletes: traffic.deletes.size,
      images,
      index: tally(cycles.map((c) => c.index)),
      jobs,
      jobFailures,
      maxUnembedded: Math.max(0, ...cycles.map((c) => c.unembedded)),
      tempFiles: leftovers(dataDir),
      searches: traffic.searches,
      searchErrors: Object.fromEntries(traffic.searchErrors),
      violations: [
        ...[...traffic.searchErrors].map(([status, n]) => `${n} searches answered ${status}`),
        ...cycles.flatMap((c) => c.violations.map((v) => `cycle ${c.cycle}: ${v}`)),
        ...final.map((v) => `final: ${v}`),
      ],
      seconds: Math.round((performance.now() - started) / 100) / 10,
    };
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    if (app) await killApp(app);
    rmSync(dataDir, { recursive: true, force: true, maxRetries: 3 });
  }
}

/** Cancels a training run still going and waits for the queue to empty; a message when it does not. */
async function drain(library: Library, app: App): Promise<string | null> {
  for (const job of listJobs(library.db, { states: ['queued', 'running'], limit: 100 }).filter((j) => j.kind === 'train'))
    await fetch(`${app.baseURL}/api/jobs/${job.id}/cancel`, { method: 'POST' });
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    const model = activeModel(library.db)!;
    const idle = !listJobs(library.db, { states: ['queued', 'running'], limit: 1 }).length;
    if (idle && countImagesWithoutEmbedding(library.db, model.id) === 0) return null;
    await new Promise((r) => setTimeout(r, 500));
  }
  const left = listJobs(library.db, { states: ['queued', 'running'], limit: 100 });
  return `the queue did not empty within 180 s: ${left.map((j) => `${j.id} ${j.kind} ${j.state}`).join(', ')}`;
}

/** Files a killed writer left behind (atomic writes' temp files), for the report. */
export function leftovers(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => /\.tmp-/.test(f));
}
