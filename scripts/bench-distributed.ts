/**
 * npm run bench:distributed [-- --workers 1,2,4 --copies 3] (alias bench:queue) — ingest throughput
 * through Redis and remote workers (separate `npm run worker -- --remote` processes) against the
 * embedded path (no Redis), in the same run, on the same images (rounds interleaved; medians, with
 * each round's load average): the shared photos, re-encoded `copies` times (new content, real JPEG
 * decoding) and the `photo-cae` preset (64×64×3). Each measurement gets a fresh library, a private
 * redis-server and the app's remote routes served over HTTP (the handlers `next start` runs). The
 * clock runs from the job's start to its end; worker start-up (engine, first model download) is
 * reported apart. One JSON line on stdout, with the scaling from 1 to 2 workers and from 2 to 4.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import sharp from 'sharp';
import { z } from 'zod';
import { parseConfig } from '../lib/config';
import { initEngine } from '../lib/engine/backend';
import { queueJob, runNextJob } from '../lib/jobs/job-service';
import { RemoteTransport } from '../lib/jobs/remote/remote-transport';
import { Autoencoder } from '../lib/models/autoencoder';
import { saveModel } from '../lib/models/model-io';
import { PRESETS, parseModelSpec } from '../lib/models/spec';
import { ingestFolder, listImageFiles } from '../lib/services/ingest-service';
import { openLibrary, type Library } from '../lib/services/library';
import { registerModelDir } from '../lib/services/model-service';
import { parseOrThrow } from '../lib/validation';
import { startRedis } from '../test/helpers/redis';
import { serveRoutes } from '../test/helpers/route-server';
import * as hello from '../app/api/remote/hello/route';
import * as originals from '../app/api/remote/originals/[hash]/route';
import * as models from '../app/api/remote/models/[id]/[file]/route';
import { runCli } from './cli/run';

const PHOTOS = new URL('../../shared/data/photos/', import.meta.url).pathname;
const TOKEN = 'bench-distributed-token-0123456789abcdef';

const flags = z.strictObject({
  workers: z
    .string()
    .regex(/^\d+(,\d+)*$/, 'comma-separated worker counts')
    .transform((s) => s.split(',').map(Number)),
  copies: z.coerce.number().int().min(1).max(20),
  batch: z.coerce.number().int().min(1).max(10_000),
  one: z.string().min(1).optional(),
  repeat: z.coerce.number().int().min(1).max(10),
  concurrency: z.coerce.number().int().min(1).max(16),
});

/** The shared photos re-encoded `copies` times (JPEG quality 90, 85, …): distinct content, real decoding. */
async function benchFolder(copies: number): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'latent-atlas-bench-distributed-'));
  const files = (await listImageFiles(PHOTOS)).filter((f) => f.endsWith('.jpg'));
  for (let c = 0; c < copies; c++) {
    await Promise.all(
      files.map((file, i) =>
        sharp(file)
          .jpeg({ quality: 90 - 5 * c })
          .toFile(join(dir, `c${c}-${i}.jpg`)),
      ),
    );
  }
  return dir;
}

/** A fresh library with the photo-cae preset (random weights: throughput does not depend on them) active. */
async function freshLibrary(env: Record<string, string>): Promise<Library> {
  const library = openLibrary(parseConfig(env));
  const model = Autoencoder.create(parseModelSpec(PRESETS['photo-cae']));
  await saveModel(model, join(library.config.modelsDir, 'bench'));
  model.dispose();
  await registerModelDir(library, join(library.config.modelsDir, 'bench'), { activate: true });
  return library;
}

async function embedded(folder: string): Promise<{ images: number; seconds: number; imagesPerSec: number }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'latent-atlas-bench-'));
  const library = await freshLibrary({ LATENT_ATLAS_DATA_DIR: dataDir });
  try {
    const report = await ingestFolder(library, folder);
    return { images: report.added, seconds: round(report.seconds), imagesPerSec: round(report.added / report.seconds) };
  } finally {
    library.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

async function throughRedis(folder: string, workers: number, batch: number, concurrency: number) {
  const redis = await startRedis();
  const dataDir = mkdtempSync(join(tmpdir(), 'latent-atlas-bench-'));
  const env = { LATENT_ATLAS_DATA_DIR: dataDir, LATENT_ATLAS_TOKEN: TOKEN, LATENT_ATLAS_REDIS_URL: redis.url };
  Object.assign(process.env, env); // the route handlers read it (their library is opened once per process: one run per process)
  const library = await freshLibrary(env);
  const app = await serveRoutes([
    { pattern: '/api/remote/hello', GET: hello.GET },
    { pattern: '/api/remote/originals/[hash]', GET: originals.GET },
    { pattern: '/api/remote/models/[id]/[file]', GET: models.GET },
  ]);
  const transport = RemoteTransport.open(redis.url);
  const children: ChildProcess[] = [];
  const cacheDirs: string[] = [];
  try {
    const started = performance.now();
    await Promise.all(
      Array.from({ length: workers }, () => {
        const cache = mkdtempSync(join(tmpdir(), 'latent-atlas-bench-worker-'));
        cacheDirs.push(cache);
        const child = spawn(
          process.execPath,
          ['--import', 'tsx', 'workers/job-runner.ts', '--remote', app.url, '--concurrency', String(concurrency)],
          {
            env: { ...process.env, LATENT_ATLAS_DATA_DIR: cache, LATENT_ATLAS_BACKEND: 'wasm' },
            stdio: ['ignore', 'ignore', 'pipe'],
          },
        );
        children.push(child);
        return new Promise<void>((resolve, reject) => {
          child.stderr!.on('data', (chunk: Buffer) => chunk.toString().includes('remote worker') && resolve());
          child.once('exit', (code) => reject(new Error(`a worker exited (${code}) before it was ready`)));
        });
      }),
    );
    const startup = (performance.now() - started) / 1000;
    const job = queueJob(library, 'ingest', { folder, batchSize: batch });
    const begun = performance.now();
    const done = await runNextJob(library, { remote: transport });
    const seconds = (performance.now() - begun) / 1000;
    if (done?.state !== 'succeeded') throw new Error(`job ${job.id} ${done?.state}: ${done?.error}`);
    const added = (done.result as { added: number }).added;
    return {
      workers,
      images: added,
      seconds: round(seconds),
      imagesPerSec: round(added / seconds),
      workerStartupSeconds: round(startup),
      loadAverage: round(loadavg()[0]!),
    };
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await transport.close();
    await app.close();
    await redis.stop();
    library.close();
    for (const dir of [dataDir, ...cacheDirs]) rmSync(dir, { recursive: true, force: true });
  }
}

const round = (x: number) => Math.round(x * 100) / 100;

type RedisRun = Awaited<ReturnType<typeof throughRedis>>;
interface Measured {
  images: number;
  seconds: number;
  imagesPerSec: number;
  loadAverage: number;
}

const median = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return round(sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2);
};

/** The median rate and every round's rate with the load average (1 min) it ran under. */
function summary(runs: readonly Measured[]) {
  return {
    images: runs[0]!.images,
    imagesPerSec: median(runs.map((r) => r.imagesPerSec)),
    rounds: runs.map((r) => ({ imagesPerSec: r.imagesPerSec, seconds: r.seconds, loadAverage: r.loadAverage })),
  };
}

await runCli(async () => {
  const program = new Command('bench:distributed')
    .option('--workers <list>', 'worker counts to measure', '1,2,4')
    .option('--copies <n>', 'times the shared photos are re-encoded into the bench folder', '3')
    .option('--batch <n>', 'images per batch', '50')
    .option('--concurrency <n>', 'batches each worker process holds at once (its --concurrency)', '1')
    .option('--repeat <n>', 'rounds of every measurement, interleaved (the machine is shared: medians are reported)', '2')
    .option('--one <folder>', 'internal: measure one worker count (the first of --workers) on this folder, print its JSON')
    .parse();
  const o = parseOrThrow(flags, program.opts(), 'flags');
  await initEngine('wasm');
  if (o.one) {
    process.stdout.write(`${JSON.stringify(await throughRedis(o.one, o.workers[0]!, o.batch, o.concurrency))}\n`);
    return;
  }
  const folder = await benchFolder(o.copies);
  try {
    const line: Record<string, unknown> = {
      backend: 'wasm',
      model: 'photo-cae (64x64x3, latent 32)',
      cores: availableParallelism(),
      loadAverageAtStart: round(loadavg()[0]!),
      batchImages: o.batch,
      batchesPerWorker: o.concurrency,
    };
    // Rounds interleave every configuration, so a burst of load elsewhere hits them alike.
    const rounds: { embedded: Measured[]; redis: Map<number, RedisRun[]> } = { embedded: [], redis: new Map() };
    for (let r = 0; r < o.repeat; r++) {
      rounds.embedded.push({ ...(await embedded(folder)), loadAverage: round(loadavg()[0]!) });
      process.stderr.write(`round ${r + 1}, embedded: ${JSON.stringify(rounds.embedded.at(-1))}\n`);
      // Each run in its own process: the app's route handlers open their library once per process.
      for (const workers of o.workers) {
        const run = await runChild(folder, workers, o.batch, o.concurrency);
        process.stderr.write(`round ${r + 1}, ${workers} workers: ${JSON.stringify(run)}\n`);
        rounds.redis.set(workers, [...(rounds.redis.get(workers) ?? []), run]);
      }
    }
    line.embedded = summary(rounds.embedded);
    const oneWorker = rounds.redis.get(1);
    const base = oneWorker ? median(oneWorker.map((r) => r.imagesPerSec)) : null;
    const rate = (workers: number) => {
      const runs = rounds.redis.get(workers);
      return runs ? median(runs.map((r) => r.imagesPerSec)) : null;
    };
    const ratio = (a: number | null, b: number | null) => (a !== null && b !== null ? round(a / b) : null);
    line.scaling = {
      oneToTwoWorkers: ratio(rate(2), rate(1)),
      twoToFourWorkers: ratio(rate(4), rate(2)),
      cores: availableParallelism(),
    };
    line.loadAverageAtEnd = round(loadavg()[0]!);
    line.redis = [...rounds.redis.entries()].map(([workers, runs]) => ({
      workers,
      ...summary(runs),
      workerStartupSeconds: median(runs.map((r) => r.workerStartupSeconds)),
      speedupVsOneWorker: base ? round(median(runs.map((r) => r.imagesPerSec)) / base) : null,
      vsEmbedded: round(median(runs.map((r) => r.imagesPerSec)) / median(rounds.embedded.map((r) => r.imagesPerSec))),
    }));
    process.stdout.write(`${JSON.stringify(line)}\n`);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
});

/** One Redis measurement in a child process of this script. */
async function runChild(folder: string, workers: number, batch: number, concurrency: number): Promise<RedisRun> {
  const args = [
    '--import',
    'tsx',
    'scripts/bench-distributed.ts',
    '--one',
    folder,
    '--workers',
    String(workers),
    '--batch',
    String(batch),
    '--concurrency',
    String(concurrency),
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`the ${workers}-worker run failed (exit ${code})`);
  return JSON.parse(out) as RedisRun;
}
