/**
 * The distributed path for real: a private redis-server, the app's remote routes over HTTP (the
 * same handlers `next start` runs, token check included), two `npm run worker -- --remote` processes
 * (three for the kill test) and the library's coordinator in this process. A folder of real photos
 * ingested this way equals the embedded path's library; 2,000 images survive a worker killed
 * mid-batch, each stored once; the near-duplicate search through the workers finds the local
 * search's groups; a batch delivered twice stores once; Redis away at the start is a clear error
 * (ingest and search jobs alike) while search keeps working; Redis lost mid-job (restarted empty,
 * or frozen past the batch locks) costs nothing but time; a wrong token is refused on every worker route.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import sharp from 'sharp';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type Config } from '../../lib/config';
import { jobOrThrow, queueActivation, queueJob, runNextJob, type Job } from '../../lib/jobs/job-service';
import { RemoteTransport } from '../../lib/jobs/remote/remote-transport';
import { Autoencoder } from '../../lib/models/autoencoder';
import { saveModel } from '../../lib/models/model-io';
import { parseModelSpec } from '../../lib/models/spec';
import { embedOriginals } from '../../lib/services/batch-embedding';
import { stageFolder, storeEmbedBatch, storeIngestBatch, type StageReport } from '../../lib/services/distributed-ingest-service';
import { contentHash, ingestFolder, listImageFiles } from '../../lib/services/ingest-service';
import { openLibrary, originalPath, type Library } from '../../lib/services/library';
import { loadRegisteredModel, modelIndex, registerModelDir } from '../../lib/services/model-service';
import { searchSimilar } from '../../lib/services/search-service';
import { findNearDuplicates, type DuplicateGroups } from '../../lib/services/duplicates-service';
import { countEmbeddings, getEmbedding } from '../../lib/store/embeddings-repo';
import { countImages, findImageByHash, hashReferenced, liveImageHashes } from '../../lib/store/images-repo';
import { requestCancel } from '../../lib/store/jobs-repo';
import { activeModel, type ModelRecord } from '../../lib/store/models-repo';
import { startWasm } from '../helpers/engine';
import { fashionFolder } from '../helpers/library';
import { freePort, startRedis, type TestRedis } from '../helpers/redis';
import { serveRoutes } from '../helpers/route-server';
import * as hello from '../../app/api/remote/hello/route';
import * as originals from '../../app/api/remote/originals/[hash]/route';
import * as models from '../../app/api/remote/models/[id]/[file]/route';
import * as snapshots from '../../app/api/remote/snapshots/[run]/[file]/route';
import { tinyConvSpec } from '../helpers/models';

const PHOTOS = '/work/shared/data/photos';
const TOKEN = 'remote-queue-test-token-0123456789';

let redis: TestRedis;
let app: { url: string; close: () => Promise<void> };
let config: Readonly<Config>;
let library: Library;
let model: ModelRecord;
let transport: RemoteTransport;
const temps: string[] = [];
const workers: { child: ChildProcess; log: string[] }[] = [];

const temp = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
};

function startWorker(
  env: Record<string, string> = {},
  flags: string[] = [],
): { child: ChildProcess; log: string[]; exited: Promise<number | null> } {
  const log: string[] = [];
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'workers/job-runner.ts', '--remote', app.url, '--lock-seconds', '5', ...flags],
    {
      env: {
        ...process.env,
        LATENT_ATLAS_DATA_DIR: temp('latent-atlas-worker-'),
        LATENT_ATLAS_REDIS_URL: redis.url,
        LATENT_ATLAS_TOKEN: TOKEN,
        LATENT_ATLAS_BACKEND: 'wasm',
        ...env,
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  child.stderr!.on('data', (chunk: Buffer) => log.push(...chunk.toString().split('\n').filter(Boolean)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const worker = { child, log };
  workers.push(worker);
  return { ...worker, exited };
}

async function until(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 60_000,
  describe: () => string = () => '',
): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > timeoutMs)
      throw new Error(
        `timed out waiting for ${what} ${describe()}; the workers said:\n${workers.map((w) => w.log.slice(-6).join('\n')).join('\n--\n')}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * `count` photos of the shared folder re-encoded (JPEG at `quality`, half size): new content that
 * is real decoding work, so batches of them take long enough to be interrupted.
 */
async function reencodedPhotos(count: number, quality: number): Promise<string> {
  const dir = temp('latent-atlas-jpeg-');
  const files = (await listImageFiles(PHOTOS)).filter((f) => f.endsWith('.jpg'));
  for (let i = 0; i < count; i++) {
    // Past the last photo, the next round is one quality step lower: new content again.
    const image = sharp(files[i % files.length]!);
    const { width } = await image.metadata();
    await image
      .resize(Math.round((width ?? 640) / 2))
      .jpeg({ quality: quality - Math.floor(i / files.length) })
      .toFile(join(dir, `photo-${i}.jpg`));
  }
  return dir;
}

/**
 * Waits until worker `holder` holds a batch of `size` with 24 or more of its images ahead (workers
 * report every 8; an image takes tens of milliseconds): a kill then lands mid-batch.
 */
async function midBatch(size: number, holder: ChildProcess): Promise<void> {
  let seen: unknown = null;
  await until(
    'workers to be mid-batch',
    async () => {
      const active = await transport.activeBatches();
      seen = active;
      const early = active.filter((b) => b.done >= 8 && b.done <= size - 24);
      return early.some((b) => b.worker?.startsWith(`${holder.pid}@`));
    },
    60_000,
    () => JSON.stringify(seen),
  );
}

/** Every file in the originals folder is named by a row: nothing staged was left behind. */
function expectNoStrayOriginals(): void {
  const files = readdirSync(config.originalsDir, { recursive: true, encoding: 'utf8' }).filter((f) => /[0-9a-f]{64}$/.test(f));
  const stray = files.filter((f) => !hashReferenced(library.db, f.slice(-64)));
  expect(stray).toEqual([]);
}

/** Ids in the model's index equal the ids with a stored vector. */
function expectIndexEqualsStore(lib: Library, record: ModelRecord): void {
  const index = modelIndex(lib, record).index;
  const stored = liveImageHashes(lib.db)
    .map((image) => image.id)
    .filter((id) => getEmbedding(lib.db, id, record.id, record.latentSize) !== null);
  expect([...index.ids()].sort((a, b) => a - b)).toEqual(stored.sort((a, b) => a - b));
}

/** Registers another (inactive) model with 16-d vectors and these filters. */
async function saveModel2(name: string, filters: number[]): Promise<ModelRecord> {
  const net = Autoencoder.create(
    parseModelSpec({ arch: 'conv', inputShape: [28, 28, 1], latentSize: 16, filters, downsample: 'stride', upsampling: 'transposed' }),
  );
  await saveModel(net, join(config.modelsDir, name));
  net.dispose();
  return registerModelDir(library, join(config.modelsDir, name));
}

beforeAll(async () => {
  await startWasm();
  redis = await startRedis();
  const dataDir = temp('latent-atlas-app-');
  const env = { LATENT_ATLAS_DATA_DIR: dataDir, LATENT_ATLAS_TOKEN: TOKEN, LATENT_ATLAS_REDIS_URL: redis.url, LATENT_ATLAS_WORKERS: '1' };
  Object.assign(process.env, env); // the route handlers read their configuration from here
  config = parseConfig(env);
  library = openLibrary(config);
  const net = Autoencoder.create(tinyConvSpec());
  await saveModel(net, join(config.modelsDir, 'conv-16'));
  net.dispose();
  model = await registerModelDir(library, join(config.modelsDir, 'conv-16'), { activate: true });
  app = await serveRoutes([
    { pattern: '/api/remote/hello', GET: hello.GET },
    { pattern: '/api/remote/originals/[hash]', GET: originals.GET },
    { pattern: '/api/remote/models/[id]/[file]', GET: models.GET },
    { pattern: '/api/remote/snapshots/[run]/[file]', GET: snapshots.GET },
  ]);
  transport = RemoteTransport.open(redis.url, { backoffMs: 200 });
  startWorker();
  startWorker();
});

afterAll(async () => {
  for (const { child } of workers) child.kill('SIGKILL');
  await transport?.close();
  await app?.close();
  await redis?.stop();
  library?.close();
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

async function runIngest(folder: string, batchSize: number, during?: (job: Job) => Promise<void>): Promise<Job> {
  const queued = queueJob(library, 'ingest', { folder, batchSize });
  const running = runNextJob(library, { remote: transport, progressMs: 0 });
  if (during) await during(queued);
  const job = await running;
  expect(job?.id).toBe(queued.id);
  return job!;
}

describe('remote workers through Redis', () => {
  it('ingest a folder of photos exactly as the embedded path does, both workers taking part', async () => {
    const job = await runIngest(PHOTOS, 16);
    expect(job.state, job.error ?? '').toBe('succeeded');

    const refDir = temp('latent-atlas-ref-');
    const reference = openLibrary(parseConfig({ LATENT_ATLAS_DATA_DIR: refDir, LATENT_ATLAS_WORKERS: '1' }));
    try {
      const refModel = await registerModelDir(reference, join(config.modelsDir, 'conv-16'), { activate: true });
      const report = await ingestFolder(reference, PHOTOS);
      expect(job.result).toEqual({ added: report.added, duplicates: report.duplicates, refused: report.skipped.length });
      expect(report.added).toBeGreaterThan(150);
      expect(report.skipped.map((s) => s.name)).toContain('labels.csv'); // not an image: refused both ways (counted above)

      const ours = liveImageHashes(library.db);
      expect(ours.map((i) => i.contentHash).sort()).toEqual(
        liveImageHashes(reference.db)
          .map((i) => i.contentHash)
          .sort(),
      );
      let maxDiff = 0;
      for (const { contentHash } of ours) {
        const [a, b] = [findImageByHash(library.db, contentHash)!, findImageByHash(reference.db, contentHash)!];
        const { id: _a, createdAt: _ca, ...rowA } = a;
        const { id: _b, createdAt: _cb, ...rowB } = b;
        expect(rowA).toEqual(rowB);
        const va = getEmbedding(library.db, a.id, model.id, 16)!;
        const vb = getEmbedding(reference.db, b.id, refModel.id, 16)!;
        for (let i = 0; i < 16; i++) maxDiff = Math.max(maxDiff, Math.abs(va[i]! - vb[i]!));
      }
      expect(maxDiff).toBeLessThan(1e-4);
      expectIndexEqualsStore(library, model);
    } finally {
      reference.close();
    }
    // Progress across the workers: every file counted, with the rate and the workers named.
    const files = (await listImageFiles(PHOTOS)).length;
    expect(job.progress).toMatchObject({ phase: 'ingest', done: files, total: files });
    // The last message counts the workers busy at that moment (0 once both have finished, on a fast
    // machine); that both took part is checked on their own logs below.
    expect(job.progress.message).toMatch(/\b[0-2] workers?\b/);
    // Both workers took batches, and each downloaded the model once.
    for (const { log } of workers.slice(0, 2)) expect(log.filter((l) => /^batch .* embedded/.test(l)).length).toBeGreaterThan(0);
    expect(await transport.counts()).toMatchObject({ waiting: 0, active: 0, delayed: 0, completed: 0, failed: 0 });
  });

  it('stores a batch delivered twice once (ingest and embedding alike)', async () => {
    const folder = await fashionFolder(6, temp('latent-atlas-png-'));
    const report: StageReport = { total: 0, duplicates: 0, skipped: [] };
    const batches = [];
    for await (const batch of stageFolder(library, folder, report)) batches.push(batch);
    const batch = batches[0]!;
    expect(batch).toHaveLength(6);
    const { model: net } = await loadRegisteredModel(library, model);
    const outcome = await embedOriginals(net, batch, async (hash) => readFileSync(originalPath(config, hash)));
    const before = countImages(library.db);
    const first = await storeIngestBatch(library, model, batch, outcome, 'photo');
    const second = await storeIngestBatch(library, model, batch, outcome, 'photo');
    expect([first.added.length, second.added.length, second.duplicates]).toEqual([6, 0, 6]);
    expect(countImages(library.db)).toBe(before + 6);
    expect(countEmbeddings(library.db, model.id)).toBe(before + 6);
    // Embedding: the same vectors delivered twice under a second model (of the same size).
    const other = await saveModel2('conv-16b', [8, 8]);
    expect([storeEmbedBatch(library, other, outcome).embedded, storeEmbedBatch(library, other, outcome).embedded]).toEqual([6, 0]);
    expect(countEmbeddings(library.db, other.id)).toBe(6);
    expectIndexEqualsStore(library, other);
    expectIndexEqualsStore(library, model);
  });

  it('says clearly when Redis is unreachable at the start, and search still answers', async () => {
    const away = RemoteTransport.open(`redis://127.0.0.1:${await freePort()}`, { checkMs: 1500 });
    try {
      const folder = await fashionFolder(3, temp('latent-atlas-png-'));
      queueJob(library, 'ingest', { folder });
      const job = await runNextJob(library, { remote: away });
      expect(job?.state).toBe('failed');
      expect(job?.error).toMatch(
        /^cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+ \(LATENT_ATLAS_REDIS_URL\): .*ECONNREFUSED.*unset LATENT_ATLAS_REDIS_URL/,
      );
      // The near-duplicate search alike, leaving no index snapshot behind.
      queueJob(library, 'duplicates', {});
      const search = await runNextJob(library, { remote: away });
      expect(search?.state).toBe('failed');
      expect(search?.error).toMatch(/^cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+ \(LATENT_ATLAS_REDIS_URL\)/);
      expect(existsSync(join(config.indexDir, 'snapshots'))).toBe(false);
      const [first] = liveImageHashes(library.db);
      const { hits } = await searchSimilar(library, { imageId: first!.id }, { k: 3, exact: true });
      expect(hits).toHaveLength(3);
      expect(hits.map((h) => h.distance)).toEqual([...hits.map((h) => h.distance)].sort((a, b) => a - b));
    } finally {
      await away.close();
    }
  });

  it('resumes when Redis is lost mid-job and comes back empty, storing every image once', async () => {
    const folder = await fashionFolder(240, temp('latent-atlas-png-'));
    const before = countImages(library.db);
    const known = (await listImageFiles(folder)).filter((file) => findImageByHash(library.db, contentHash(readFileSync(file)))).length;
    const job = await runIngest(folder, 12, async (queued) => {
      await until('the first batches to be committed', () => (jobOrThrow(library, queued.id).progress.done ?? 0) >= 24);
      await redis.kill();
      await new Promise((resolve) => setTimeout(resolve, 1500));
      expect(jobOrThrow(library, queued.id).state).toBe('running');
      await redis.start();
    });
    expect(job.state, job.error ?? '').toBe('succeeded');
    expect(job.result).toEqual({ added: 240 - known, duplicates: known, refused: 0 });
    expect(job.progress.message).toMatch(/\d+ batches sent again/); // the ones Redis lost
    expect(countImages(library.db)).toBe(before + 240 - known);
    expect(countEmbeddings(library.db, model.id)).toBe(countImages(library.db));
    expectIndexEqualsStore(library, model);
    expect(await transport.counts()).toMatchObject({ waiting: 0, active: 0, delayed: 0, failed: 0 });
  });

  it('rides out Redis frozen longer than a batch lock (a partition that keeps the data): each image stored once', async () => {
    const folder = await fashionFolder(480, temp('latent-atlas-png-')); // its first 240 are in the library already
    const before = countImages(library.db);
    const known = (await listImageFiles(folder)).filter((file) => findImageByHash(library.db, contentHash(readFileSync(file)))).length;
    expect(known).toBeGreaterThanOrEqual(240);
    const job = await runIngest(folder, 12, async (queued) => {
      await until('batches to be out', async () => (jobOrThrow(library, queued.id).progress.done ?? 0) >= known + 24);
      redis.pause();
      try {
        await new Promise((resolve) => setTimeout(resolve, 6500)); // past the workers' 5 s locks
        expect(jobOrThrow(library, queued.id).state).toBe('running');
      } finally {
        redis.resume();
      }
    });
    expect(job.state, job.error ?? '').toBe('succeeded');
    expect(job.result).toEqual({ added: 480 - known, duplicates: known, refused: 0 });
    expect(countImages(library.db)).toBe(before + 480 - known);
    expect(countEmbeddings(library.db, model.id)).toBe(countImages(library.db));
    expectIndexEqualsStore(library, model);
    expect(await transport.counts()).toMatchObject({ waiting: 0, active: 0, delayed: 0, failed: 0 });
  });

  it('cancels on every worker: batches in hand are dropped, waiting ones removed, staged originals cleared', async () => {
    const folder = await reencodedPhotos(240, 70);
    const before = countImages(library.db);
    const logged = workers.slice(0, 2).map((w) => w.log.length);
    const queued = queueJob(library, 'ingest', { folder, batchSize: 120 });
    const running = runNextJob(library, { remote: transport, progressMs: 0, heartbeatMs: 100 });
    // Every batch out is far from its end (usually both workers hold one): each holder must drop it.
    let holders: string[] = [];
    await until('the workers to be mid-batch', async () => {
      const active = await transport.activeBatches();
      holders = active.map((b) => b.worker ?? '');
      return active.length > 0 && active.every((b) => b.done >= 8 && b.done <= 120 - 24);
    });
    requestCancel(library.db, queued.id);
    const job = await running;
    expect(job?.state).toBe('cancelled');
    const holding = workers.slice(0, 2).filter((w) => holders.some((h) => h.startsWith(`${w.child.pid}@`)));
    expect(holding.length).toBeGreaterThan(0);
    await until('the workers to drop their batches', () =>
      holding.every((w) => w.log.slice(logged[workers.indexOf(w)]).some((l) => /was cancelled/.test(l))),
    );
    // A worker that took a batch just before the cancel key was set (not among the holders seen
    // above) drops it within its next check (100 ms): nothing may stay active.
    await until('no batch left active', async () => (await transport.counts()).active === 0, 10_000);
    const counts = await transport.counts();
    expect(counts).toMatchObject({ waiting: 0, active: 0, delayed: 0 });
    expect(countImages(library.db)).toBeLessThan(before + 240);
    expectIndexEqualsStore(library, model);
    expectNoStrayOriginals();
  });

  it('three workers ingest 2,000 images, one killed with SIGKILL mid-batch: each image stored and embedded once, index == store, no batch left', async () => {
    const third = startWorker();
    await until('the third worker to start', () => third.log.some((l) => l.startsWith('remote worker')));
    const live = workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
    expect(live).toHaveLength(3);
    // Fashion-MNIST's training split: none of it is in the library yet (the other tests use the test split).
    const folder = await fashionFolder(2000, temp('latent-atlas-png-'), 'train');
    const hashes = new Set((await listImageFiles(folder)).map((file) => contentHash(readFileSync(file))));
    const fresh = [...hashes].filter((hash) => !findImageByHash(library.db, hash));
    expect(fresh.length).toBeGreaterThan(1900); // the split holds a few exact repeats
    const before = countImages(library.db);
    const victim = live[1]!;
    const logged = live.map((w) => w.log.length);
    const job = await runIngest(folder, 200, async () => {
      await midBatch(200, victim.child);
      victim.child.kill('SIGKILL');
    });
    expect(job.state, job.error ?? '').toBe('succeeded');
    expect(job.result).toEqual({ added: fresh.length, duplicates: 2000 - fresh.length, refused: 0 });
    expect(job.progress.message).toMatch(/\b1 batches taken back from stopped workers/);
    // Exactly once: one row per new content hash, one vector per row, the index holding each id once.
    expect(countImages(library.db)).toBe(before + fresh.length);
    expect(fresh.every((hash) => findImageByHash(library.db, hash) !== null)).toBe(true);
    expect(countEmbeddings(library.db, model.id)).toBe(countImages(library.db));
    expectIndexEqualsStore(library, model);
    expect(await transport.counts()).toMatchObject({ waiting: 0, active: 0, delayed: 0, completed: 0, failed: 0 });
    // The survivors finished the run, the victim's batch included.
    for (const w of live.filter((w) => w !== victim))
      expect(w.log.slice(logged[live.indexOf(w)]).filter((l) => /^batch .* embedded/.test(l)).length).toBeGreaterThan(0);
    expectNoStrayOriginals();
  });

  it('re-embeds the library under a newly activated model through the workers, then switches', async () => {
    const next = await saveModel2('conv-16c', [16, 16]);
    const queued = queueActivation(library, next.id);
    const job = await runNextJob(library, { remote: transport, progressMs: 0 });
    expect(job?.id).toBe(queued.id);
    expect(job?.state, job?.error ?? '').toBe('succeeded');
    expect(activeModel(library.db)?.id).toBe(next.id);
    expect(countEmbeddings(library.db, next.id)).toBe(countImages(library.db));
    expectIndexEqualsStore(library, next);
    expect(job?.progress).toMatchObject({ phase: 're-embed' });
    // The workers' vectors are the ones this process computes from the same originals.
    const sample = liveImageHashes(library.db).slice(0, 8);
    const { model: net } = await loadRegisteredModel(library, next);
    const local = await embedOriginals(
      net,
      sample.map((i) => ({ hash: i.contentHash, name: String(i.id) })),
      async (hash) => readFileSync(originalPath(config, hash)),
    );
    for (const e of local.embedded) {
      const stored = getEmbedding(library.db, findImageByHash(library.db, e.hash)!.id, next.id, 16)!;
      for (let i = 0; i < 16; i++) expect(Math.abs(stored[i]! - e.vector[i]!)).toBeLessThan(1e-5);
    }
  });

  it('finds near-duplicates through the workers: blocks of the search on each, the same groups as the local search', async () => {
    const live = workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
    const logged = live.map((w) => w.log.length);
    // A wide threshold (30 % of the typical distance): many groups to compare, not only exact copies.
    const queued = queueJob(library, 'duplicates', { batchSize: 300, fraction: 0.3 });
    const job = await runNextJob(library, { remote: transport, progressMs: 0 });
    expect(job?.id).toBe(queued.id);
    expect(job?.state, job?.error ?? '').toBe('succeeded');
    const images = countImages(library.db);
    const blocks = Math.ceil(images / 300);
    const { blocks: sent, blocksSearchedHere, ...found } = job!.result as DuplicateGroups & { blocks: number; blocksSearchedHere: number };
    expect([sent, blocksSearchedHere]).toEqual([blocks, 0]);
    const local = await findNearDuplicates(library, { fraction: 0.3 });
    expect(found).toEqual(JSON.parse(JSON.stringify(local)) as unknown); // the job's result went through JSON
    expect(local.groups.length).toBeGreaterThan(10);
    expect(job?.progress).toMatchObject({ phase: 'duplicates', done: images, total: images });
    // Every block was searched by a worker, both workers took some; the snapshot is gone.
    const searched = live.map(
      (w, i) => w.log.slice(logged[i]).filter((l) => /^batch duplicates-\d+\.\w+: neighbours of \d+ images$/.test(l)).length,
    );
    expect(searched.reduce((a, b) => a + b, 0)).toBe(blocks);
    expect(searched.every((n) => n > 0)).toBe(true);
    expect(existsSync(join(config.indexDir, 'snapshots'))).toBe(false);
    expect(await transport.counts()).toMatchObject({ waiting: 0, active: 0, delayed: 0, completed: 0, failed: 0 });
  });

  it('refuses a wrong token: the app answers 401 and the worker stops with the reason', async () => {
    const [image] = liveImageHashes(library.db);
    const paths = [
      `/api/remote/originals/${image!.contentHash}`,
      '/api/remote/hello',
      `/api/remote/models/${activeModel(library.db)!.id}/weights.bin`,
      '/api/remote/snapshots/duplicates-1/index.json',
    ];
    for (const path of paths)
      for (const authorization of ['Bearer not-the-token-at-all', undefined]) {
        const response = await fetch(`${app.url}${path}`, { headers: authorization ? { Authorization: authorization } : {} });
        expect(response.status, path).toBe(401);
        expect(((await response.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
      }
    const intruder = startWorker({ LATENT_ATLAS_TOKEN: 'not-the-token-at-all' });
    expect(await intruder.exited).toBe(1);
    expect(intruder.log.join('\n')).toMatch(/refused this worker's token/);
  });

  it('a worker pinned to another model refuses the batches; they fail after their retries, nothing stored', async () => {
    // Only the pinned worker is left: the others stop (SIGTERM: they finish what they hold, none).
    const stopped = workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
    for (const w of stopped) w.child.kill('SIGTERM');
    await Promise.all(
      stopped.map((w) => new Promise((resolve) => (w.child.exitCode !== null ? resolve(null) : w.child.once('exit', resolve)))),
    );
    const pinned = startWorker({}, ['--model', '999']);
    await until('the pinned worker to start', () => pinned.log.some((l) => l.startsWith('remote worker')));
    const folder = await reencodedPhotos(4, 50);
    const before = countImages(library.db);
    const job = await runIngest(folder, 4);
    expect(job.state, job.error ?? '').toBe('succeeded');
    expect(job.result).toEqual({ added: 0, duplicates: 0, refused: 4 });
    expect(countImages(library.db)).toBe(before);
    const active = activeModel(library.db)!.id;
    const refusals = pinned.log.filter((l) => l.includes(`holds model 999; this batch needs model ${active}: refused`));
    expect(refusals).toHaveLength(5); // every attempt BullMQ made
    expectNoStrayOriginals();
  });

  it('searches a near-duplicate block here when it fails on every attempt: the same groups still', async () => {
    // The only worker left cannot keep a snapshot (its cache is under a file): every attempt fails.
    const others = workers.filter((w) => w.child.exitCode === null && w.child.signalCode === null);
    for (const w of others) w.child.kill('SIGTERM');
    await Promise.all(
      others.map((w) => new Promise((resolve) => (w.child.exitCode !== null ? resolve(null) : w.child.once('exit', resolve)))),
    );
    const broken = startWorker({}, ['--cache', join(PHOTOS, 'labels.csv', 'cache')]);
    await until('the worker to start', () => broken.log.some((l) => l.startsWith('remote worker')));
    const images = countImages(library.db);
    queueJob(library, 'duplicates', { batchSize: images, fraction: 0.3 });
    const job = await runNextJob(library, { remote: transport, progressMs: 0 });
    expect(job?.state, job?.error ?? '').toBe('succeeded');
    const { blocks, blocksSearchedHere, ...found } = job!.result as DuplicateGroups & { blocks: number; blocksSearchedHere: number };
    expect([blocks, blocksSearchedHere]).toEqual([1, 1]);
    expect(found).toEqual(JSON.parse(JSON.stringify(await findNearDuplicates(library, { fraction: 0.3 }))) as unknown);
    expect(broken.log.filter((l) => /^batch duplicates-\d+\.\w+ failed: .*ENOTDIR/.test(l))).toHaveLength(5); // every attempt
    expect(existsSync(join(config.indexDir, 'snapshots'))).toBe(false);
  });
});
