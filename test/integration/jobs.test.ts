/**
 * Background jobs: a job runs to completion with progress; identical jobs are refused while one
 * is active; a running job cancels within seconds; a worker killed with kill -9 leaves a job that
 * the next worker resumes (ingest) or fails with the reason (training) — never "running" forever.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cancelJob, jobOrThrow, queueJob, runNextJob } from '../../lib/jobs/job-service';
import type { Library } from '../../lib/services/library';
import { countImages } from '../../lib/store/images-repo';
import { countEmbeddings } from '../../lib/store/embeddings-repo';
import { activeModel } from '../../lib/store/models-repo';
import type { Job } from '../../lib/store/jobs-repo';
import { startWasm } from '../helpers/engine';
import { addModel, fashionFolder, tempLibrary } from '../helpers/library';
import { searchSimilar } from '../../lib/services/search-service';

let library: Library;
let dataDir: string;
let small: string;
let large: string;
const LARGE = 2500;
const runners: ChildProcess[] = [];

beforeAll(async () => {
  await startWasm();
  ({ library, dataDir } = await tempLibrary());
  small = await fashionFolder(150);
  large = await fashionFolder(LARGE);
});
afterAll(() => {
  for (const r of runners) r.kill('SIGKILL');
  library.close();
  for (const d of [dataDir, small, large]) rmSync(d, { recursive: true, force: true });
});

function startRunner(): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'workers/job-runner.ts'], {
    env: { ...process.env, LATENT_ATLAS_DATA_DIR: dataDir },
    stdio: 'ignore',
  });
  runners.push(child);
  return child;
}

async function until(what: string, check: () => boolean, timeoutMs = 90_000): Promise<void> {
  const started = Date.now();
  while (!check()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const job = (id: number): Job => jobOrThrow(library, id);

describe('jobs', () => {
  it('runs an ingest job to completion, recording progress and the result', async () => {
    const queued = queueJob(library, 'ingest', { folder: small });
    expect(queued.state).toBe('queued');
    const done = (await runNextJob(library))!;
    expect(done.state).toBe('succeeded');
    expect(done.result).toMatchObject({ added: 150, duplicates: 0 });
    expect(done.progress).toMatchObject({ done: 150, total: 150, phase: 'ingest' });
    expect(await runNextJob(library)).toBeNull();
  });

  it('validates parameters and refuses a second identical job while one is active', () => {
    expect(() => queueJob(library, 'reindex', {})).toThrow(
      /unknown job kind 'reindex'; valid kinds: ingest, train, embed, activate, cluster, map/,
    );
    expect(() => queueJob(library, 'ingest', { folder: 3 })).toThrow(/invalid ingest job: folder/);
    const first = queueJob(library, 'cluster', { k: 3 });
    expect(() => queueJob(library, 'cluster', { k: 3 })).toThrow(/identical cluster job .* already queued or running/);
    expect(cancelJob(library, first.id).state).toBe('cancelled');
    expect(queueJob(library, 'cluster', { k: 3 }).state).toBe('queued');
    cancelJob(library, job(first.id + 1).id);
  });

  it('activating a model re-embeds first and switches atomically: every search during the switch succeeds on one model', async () => {
    const before = activeModel(library.db)!;
    const next = await addModel(library, 'conv-8', 8);
    const queued = queueJob(library, 'activate', { modelId: next.id });
    const running = runNextJob(library, { progressMs: 0 });
    let finished = false;
    void running.then(() => {
      finished = true;
    });
    const seen: number[] = [];
    while (!finished) {
      const result = await searchSimilar(library, { imageId: 20 }, { k: 3 });
      expect(result.hits).toHaveLength(3);
      seen.push(result.modelId);
      await new Promise((r) => setImmediate(r));
    }
    expect((await running)!.state).toBe('succeeded');
    expect(seen.length).toBeGreaterThan(0);
    expect(new Set(seen)).toEqual(new Set([before.id]));
    expect(activeModel(library.db)!.id).toBe(next.id);
    expect((await searchSimilar(library, { imageId: 20 }, { k: 3 })).modelId).toBe(next.id);
    expect(job(queued.id).result).toEqual({ activeModelId: next.id });
  });

  it('a running job cancels within seconds when asked, keeping what it committed', async () => {
    const runner = startRunner();
    const queued = queueJob(library, 'ingest', { folder: large });
    await until('progress', () => (job(queued.id).progress.done ?? 0) > 100);
    cancelJob(library, queued.id);
    const asked = Date.now();
    await until('cancellation', () => job(queued.id).state === 'cancelled', 15_000);
    expect(Date.now() - asked).toBeLessThan(10_000);
    const model = activeModel(library.db)!;
    expect(countEmbeddings(library.db, model.id)).toBe(countImages(library.db));
    runner.kill('SIGTERM');
  });

  it('after kill -9, the next worker resumes the ingest, and a training from its last epoch checkpoint', async () => {
    const runner = startRunner();
    const ingest = queueJob(library, 'ingest', { folder: large });
    await until('progress', () => job(ingest.id).state === 'running' && (job(ingest.id).progress.done ?? 0) > 50);
    runner.kill('SIGKILL');
    await new Promise((r) => runner.once('exit', r));
    expect(job(ingest.id).state).toBe('running'); // until a worker notices
    const train = queueJob(library, 'train', {
      data: 'fashion-mnist',
      limit: 1200,
      spec: { arch: 'conv', inputShape: [28, 28, 1], latentSize: 8, filters: [8, 16], downsample: 'stride', upsampling: 'transposed' },
      options: { epochs: 4, validationSplit: 0, batchSize: 32 },
    });
    const checkpoint = `${String(train.params.outDir)}.checkpoint`;
    const second = startRunner();
    await until('the resumed ingest', () => job(ingest.id).state === 'succeeded');
    expect(job(ingest.id).attempts).toBe(2);
    expect(countImages(library.db)).toBe(LARGE); // the small folder's images are the large one's first 150
    await until('a training checkpoint', () => existsSync(join(checkpoint, 'model.json')));
    second.kill('SIGKILL');
    await new Promise((r) => second.once('exit', r));
    const saved = JSON.parse(readFileSync(join(checkpoint, 'model.json'), 'utf8')).training as {
      epoch: number;
      history: { seconds: number }[];
    };
    expect(saved.epoch).toBeGreaterThanOrEqual(1);
    startRunner();
    await until('the resumed training', () => job(train.id).state === 'succeeded');
    const done = job(train.id);
    expect(done.attempts).toBe(2);
    const history = (done.result as { history: { epoch: number; seconds: number }[] }).history;
    expect(history.map((h) => h.epoch)).toEqual([1, 2, 3, 4]);
    // The epochs done before the kill were kept, not run again (their timings are the saved ones).
    expect(history.slice(0, saved.epoch).map((h) => h.seconds)).toEqual(saved.history.map((h) => h.seconds));
    expect(existsSync(checkpoint)).toBe(false);
    expect(existsSync(join(String(train.params.outDir), 'model.json'))).toBe(true);
  });
});
