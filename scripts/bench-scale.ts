/**
 * npm run bench:scale -- --images 100000[,300000,1000000] [--seconds 10] [--connections 8]
 *
 * What a library of N images costs, step by step. The library is made fast but from real parts:
 * the 70,000 Fashion-MNIST images (train + test) are embedded once by a real trained model
 * (reference-cae, trained for 2 epochs on 12,000 images and cached under data/bench-scale/), and
 * image i of the library gets the code of Fashion-MNIST image i mod 70,000 plus small Gaussian
 * noise (σ = 0.1 × that dimension's spread), under its own content hash, with the image's class
 * as its label. Rows, vectors, the index, cluster runs and the map are real; originals and
 * thumbnails are left out (nothing measured here reads them).
 *
 * Each worker-side step (index build, cold open + recall, k-means k = 50, auto k, map, near-duplicate
 * groups) runs in a fresh child process calling the same library function a job would, so its peak
 * resident memory (VmHWM) is that step's alone. The web-side steps go through the running app
 * (`next start`: run `npm run build` first): search by id and by upload at 8 connections
 * (autocannon), the map as the browser gets it, the last page of the library and of the largest
 * cluster, and the Clusters page in Debian's Chromium (when the WebGL map's first drawing lands after
 * the page opens, and a hover); the server's resident memory is sampled every 100 ms and its peak
 * reported per step, with its CPU time per search request (what shared cores do not change).
 * One JSON line per N on stdout; progress on stderr.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { Command } from 'commander';
import sharp from 'sharp';
import { z } from 'zod';
import { kmeans, sampledKMeans } from '../lib/clustering/kmeans';
import { clusteringAccuracy, normalizedMutualInfo } from '../lib/clustering/metrics';
import { parseConfig } from '../lib/config';
import { FASHION_MNIST_CLASSES, loadFashionMnist } from '../lib/data/fashion-mnist';
import { initEngine } from '../lib/engine/backend';
import { exactKnn } from '../lib/engine/linear-algebra';
import { seededRandom } from '../lib/random';
import { runClustering } from '../lib/services/cluster-service';
import { findNearDuplicates } from '../lib/services/duplicates-service';
import { openLibrary, type Library } from '../lib/services/library';
import { computeMap } from '../lib/services/map-service';
import { loadActiveVectors, openModelIndex, registerModelDir } from '../lib/services/model-service';
import { clusterMemberPage, runAssignments } from '../lib/store/clusters-repo';
import { immediate } from '../lib/store/database';
import { putEmbedding } from '../lib/store/embeddings-repo';
import { insertImage } from '../lib/store/images-repo';
import { activeModel } from '../lib/store/models-repo';
import { BASE, BENCH_HOME, BENCH_MODEL_DIR, fashionCodes, labelOfImage, noisyCodes } from './cli/fashion-codes';
import { runCli } from './cli/run';

const WORKER_STEPS = Object.freeze([
  'index_build',
  'index_open',
  'kmeans',
  'kmeans_compare',
  'auto_k',
  'map',
  'map_umap',
  'duplicates',
] as const);
/** Full k-means on every vector, for the comparison, only up to this size (it is what the sampled fit avoids). */
const COMPARE_LIMIT = 300_000;
type WorkerStep = (typeof WORKER_STEPS)[number];

const program = new Command('bench:scale')
  .option('--images <list>', 'library sizes, comma-separated', '100000')
  .option('--seconds <n>', 'seconds of load per search measurement', '10')
  .option('--connections <n>', 'concurrent connections', '8')
  .option('--port <n>', 'port of the app under test', '3931')
  .option('--step-timeout <s>', 'a worker step running longer is stopped and reported as timed out', '600')
  .option('--skip <list>', `steps to leave out (${WORKER_STEPS.join(', ')}, web)`, '')
  .option('--keep', 'keep the library folders (data/bench-scale/lib-<N>)')
  .option('--step <name>', '(internal) run one worker step in this process')
  .option('--data <dir>', '(internal) the library of --step');

const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;
const log = (message: string) => process.stderr.write(`[bench:scale] ${message}\n`);
const statusKb = (pid: number | 'self', field: 'VmRSS' | 'VmHWM') => {
  try {
    return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
};
const mb = (kb: number) => Math.round(kb / 1024);
/** CPU seconds (user + system) a process has used so far, from /proc (clock ticks of 1/100 s). */
const cpuSeconds = (pid: number) => {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
};

/** A fresh library of n images: rows, labels and noisy real codes, in transactions of 20,000. */
async function buildLibrary(dir: string, n: number): Promise<number> {
  const base = await fashionCodes();
  const { labels, dim } = base;
  rmSync(dir, { recursive: true, force: true });
  const library = openLibrary(parseConfig({ LATENT_ATLAS_DATA_DIR: dir }));
  try {
    const model = await registerModelDir(library, BENCH_MODEL_DIR, { activate: true });
    const noisy = noisyCodes(base);
    const started = performance.now();
    const vector = new Float32Array(dim);
    for (let s = 0; s < n; s += 20_000) {
      immediate(library.db, () => {
        for (let i = s; i < Math.min(n, s + 20_000); i++) {
          const id = insertImage(library.db, {
            contentHash: createHash('sha256').update(`bench-scale:${i}`).digest('hex'),
            originalName: `fmnist-${i % BASE}-${i}.png`,
            format: 'png',
            byteSize: 300,
            width: 28,
            height: 28,
            modality: 'photo',
            labels: [FASHION_MNIST_CLASSES[labels[i % BASE]!]!],
          });
          noisy(i, vector);
          putEmbedding(library.db, id, model.id, vector);
        }
      });
      if (s % 200_000 === 0) log(`  ${s} / ${n} rows`);
    }
    return (performance.now() - started) / 1000;
  } finally {
    library.close();
  }
}

const sizeOf = (path: string) => (existsSync(path) ? statSync(path).size : 0);
function diskBytes(dir: string): { db_mb: number; index_mb: number } {
  const indexDir = join(dir, 'index');
  const index = existsSync(indexDir) ? readdirSync(indexDir).reduce((s, f) => s + sizeOf(join(indexDir, f)), 0) : 0;
  const db = sizeOf(join(dir, 'atlas.db')) + sizeOf(join(dir, 'atlas.db-wal'));
  return { db_mb: round(db / 2 ** 20, 1), index_mb: round(index / 2 ** 20, 1) };
}

/** Exact 10 nearest stored neighbours (self excluded) of `sample` stored vectors, base in chunks. */
function exactNeighbors(data: Float32Array, n: number, dim: number, sample: number[], k: number): Int32Array[] {
  const queries = new Float32Array(sample.length * dim);
  sample.forEach((row, q) => queries.set(data.subarray(row * dim, (row + 1) * dim), q * dim));
  const best = sample.map(() => [] as { row: number; d: number }[]);
  const chunk = 50_000;
  for (let s = 0; s < n; s += chunk) {
    const rows = Math.min(chunk, n - s);
    const { indices, distances } = exactKnn(
      queries,
      sample.length,
      data.subarray(s * dim, (s + rows) * dim),
      rows,
      dim,
      Math.min(k + 1, rows),
    );
    const kk = Math.min(k + 1, rows);
    for (let q = 0; q < sample.length; q++) {
      for (let j = 0; j < kk; j++) {
        const row = s + indices[q * kk + j]!;
        if (row !== sample[q]) best[q]!.push({ row, d: distances[q * kk + j]! });
      }
      best[q]!.sort((a, b) => a.d - b.d).splice(k);
    }
  }
  return best.map((b) => Int32Array.from(b, (x) => x.row));
}

/** One worker-side step, in this (child) process; returns its measurements. */
async function workerStep(step: WorkerStep, library: Library): Promise<Record<string, unknown>> {
  const model = activeModel(library.db)!;
  const started = performance.now();
  const seconds = () => round((performance.now() - started) / 1000);
  switch (step) {
    case 'index_build': {
      rmSync(library.config.indexDir, { recursive: true, force: true });
      const opened = openModelIndex(library, model);
      return { seconds: seconds(), rebuilt: opened.rebuilt, size: opened.index.size };
    }
    case 'index_open': {
      const opened = openModelIndex(library, model);
      const open = seconds();
      const openPeak = mb(statusKb('self', 'VmHWM'));
      // recall@10 of the app's search by id (k + 1 asked, the image itself dropped) against exact search.
      const { ids, data, dim } = loadActiveVectors(library);
      const random = seededRandom(3);
      const sample = Array.from({ length: 200 }, () => Math.floor(random() * ids.length));
      const exact = exactNeighbors(data, ids.length, dim, sample, 10);
      let found = 0;
      sample.forEach((row, q) => {
        const truth = new Set(Array.from(exact[q]!, (r) => ids[r]!));
        const hits = opened.index
          .search(data.subarray(row * dim, (row + 1) * dim), 11)
          .filter((h) => h.id !== ids[row])
          .slice(0, 10);
        found += hits.filter((h) => truth.has(h.id)).length;
      });
      return { seconds: open, open_peak_rss_mb: openPeak, rebuilt: opened.rebuilt, recall_at_10: round(found / (sample.length * 10), 4) };
    }
    case 'kmeans':
    case 'auto_k': {
      const run = await runClustering(library, step === 'kmeans' ? { k: 50 } : { k: 'auto' });
      const took = seconds();
      const largest = run.result.clusters.reduce((a, b) => (b.size > a.size ? b : a));
      const { labels } = await fashionCodes();
      const assigned = runAssignments(library.db, run.id);
      const truth: number[] = [];
      const found: number[] = [];
      for (const [imageId, cluster] of assigned) {
        truth.push(labelOfImage(labels, imageId));
        found.push(cluster);
      }
      return {
        seconds: took,
        k: run.params.k,
        run: run.id,
        largest: { cluster: largest.cluster, size: largest.size },
        acc: round(clusteringAccuracy(truth, found), 4),
        nmi: round(normalizedMutualInfo(truth, found), 4),
      };
    }
    case 'kmeans_compare': {
      // Sampled fit + one assignment pass against k-means on every vector: time, ACC and NMI on
      // the Fashion-MNIST classes, and the NMI between the two partitions.
      const { ids, data, dim } = loadActiveVectors(library);
      const { labels } = await fashionCodes();
      const truth = ids.map((id) => labelOfImage(labels, id));
      const out: Record<string, unknown> = {};
      for (const k of [10, 50]) {
        let t = performance.now();
        const full = kmeans(data, ids.length, dim, { k, seed: 0, restarts: 3 });
        const row: Record<string, unknown> = {
          full: {
            seconds: round((performance.now() - t) / 1000),
            acc: round(clusteringAccuracy(truth, full.assignments), 4),
            nmi: round(normalizedMutualInfo(truth, full.assignments), 4),
          },
        };
        for (const sample of [25_000, 100_000].filter((s) => s < ids.length)) {
          t = performance.now();
          const part = sampledKMeans(data, ids.length, dim, { k, seed: 0, restarts: 3, sample });
          row[`sample_${sample}`] = {
            seconds: round((performance.now() - t) / 1000),
            acc: round(clusteringAccuracy(truth, part.assignments), 4),
            nmi: round(normalizedMutualInfo(truth, part.assignments), 4),
            nmi_vs_full: round(normalizedMutualInfo(full.assignments, part.assignments), 4),
          };
        }
        out[`k${k}`] = row;
      }
      return { seconds: seconds(), ...out };
    }
    case 'map':
    case 'map_umap': {
      const method = step === 'map' ? 'pca' : 'umap';
      const phases: Record<string, number> = {};
      const points = await computeMap(library, method, { onProgress: (_d, _t, phase) => (phases[phase] ??= seconds()) });
      return { seconds: seconds(), method, points: points.length, phase_started_s: phases };
    }
    case 'duplicates': {
      const found = findNearDuplicates(library);
      return { seconds: seconds(), groups: found.groups.length, largest: found.groups[0]?.ids.length ?? 0 };
    }
  }
}

/** Runs a worker step in a child process; its measurements plus its peak resident memory. */
function runWorkerStep(step: WorkerStep, dir: string, timeoutS: number): Promise<Record<string, unknown>> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--step', step, '--data', dir], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutS * 1000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').pop() ?? '';
      if (code === 0 && line.startsWith('{')) done(JSON.parse(line) as Record<string, unknown>);
      else done({ failed: code === null ? `timed out after ${timeoutS} s` : `exit ${code}` });
    });
  });
}

/** Samples a process's resident memory every 100 ms; `peak()` returns the highest since the last call. */
function rssSampler(pid: number) {
  let peak = 0;
  const timer = setInterval(() => (peak = Math.max(peak, statusKb(pid, 'VmRSS'))), 100);
  return {
    peak: () => {
      const p = Math.max(peak, statusKb(pid, 'VmRSS'));
      peak = 0;
      return mb(p);
    },
    stop: () => clearInterval(timer),
  };
}

function multipart(bytes: Buffer, fields: Record<string, string>): { body: Buffer; type: string } {
  const boundary = `----atlas${Math.random().toString(16).slice(2)}`;
  const parts = Object.entries(fields).map(([k, v]) =>
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`),
  );
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="q.png"\r\nContent-Type: image/png\r\n\r\n`,
  );
  return {
    body: Buffer.concat([...parts, head, bytes, Buffer.from(`\r\n--${boundary}--\r\n`)]),
    type: `multipart/form-data; boundary=${boundary}`,
  };
}

/** Median time (ms) and size (bytes) of GET `url`, over `times` requests after one warm-up. */
async function timedGet(url: string, times = 5): Promise<{ ms: number; bytes: number; status: number }> {
  let bytes = 0;
  let status = 0;
  const took: number[] = [];
  for (let i = 0; i <= times; i++) {
    const t = performance.now();
    const response = await fetch(url);
    const body = await response.arrayBuffer();
    if (i > 0) took.push(performance.now() - t);
    bytes = body.byteLength;
    status = response.status;
  }
  took.sort((a, b) => a - b);
  return { ms: round(took[Math.floor(took.length / 2)]!, 1), bytes, status };
}

/** The cursor of the last page (120 members) of a cluster, found by reading up to it once. */
function lastClusterPage(dir: string, run: number, largest: { cluster: number; size: number }) {
  const library = openLibrary(parseConfig({ LATENT_ATLAS_DATA_DIR: dir }));
  try {
    const skip = Math.max(1, largest.size - 120);
    const { members } = clusterMemberPage(library.db, run, largest.cluster, { limit: skip });
    const last = members[members.length - 1]!;
    return { run, cluster: largest.cluster, lastCursor: `${last.distance}_${last.imageId}` };
  } finally {
    library.close();
  }
}

/**
 * The Clusters page in Debian's Chromium (software WebGL, as in the e2e tests): when the map's
 * first full drawing landed, in ms after the page opened (the page stamps it on the map), and how
 * long a hover takes to pick a point and show it.
 */
async function mapInBrowser(base: string): Promise<Record<string, unknown>> {
  const { chromium } = await import('@playwright/test');
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--enable-unsafe-swiftshader', '--no-first-run'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`${base}/clusters`);
    const map = page.getByTestId('latent-map');
    await map.and(page.locator('[data-drawn-ms]')).waitFor({ timeout: 300_000 });
    const drawn = Number(await map.getAttribute('data-drawn-ms'));
    // Below the cluster cards: scrolled into view, or the pointer would move outside the page.
    await page.getByTestId('map-canvas').scrollIntoViewIfNeeded();
    const box = (await page.getByTestId('map-canvas').boundingBox())!;
    // Hover across the canvas until the pointer lands near points: the time from the move to the
    // hovered image being shown, for up to three hits.
    const hovers: number[] = [];
    for (let i = 1; i <= 9 && hovers.length < 3; i++) {
      await page.mouse.move(box.x + box.width / 2, box.y - 30); // off the map: the hover clears
      await page.locator(`[data-testid="latent-map"]:not([data-hover-id])`).waitFor({ timeout: 10_000 });
      const started = performance.now();
      await page.mouse.move(box.x + (box.width * i) / 10, box.y + (box.height * ((i * 3) % 10 || 5)) / 10);
      const hit = await page
        .locator(`[data-testid="latent-map"][data-hover-id]`)
        .waitFor({ timeout: 10_000 })
        .then(
          () => true,
          () => false,
        );
      if (hit) hovers.push(round(performance.now() - started, 1));
    }
    return { points: Number(await map.getAttribute('data-points')), first_drawing_ms: drawn, hover_ms: hovers };
  } catch (error) {
    return { failed: (error as Error).message.split('\n')[0] };
  } finally {
    await browser.close();
  }
}

/** The web-side steps against `next start` over the library in `dir`. */
async function webSteps(
  dir: string,
  n: number,
  o: { seconds: number; connections: number; port: number },
  cluster: { run: number; cluster: number; lastCursor: string } | null,
) {
  const next = createRequire(import.meta.url).resolve('next/dist/bin/next');
  const server = spawn(process.execPath, [next, 'start', '-H', '127.0.0.1', '-p', String(o.port)], {
    env: { ...process.env, LATENT_ATLAS_DATA_DIR: dir, NEXT_TELEMETRY_DISABLED: '1' },
    stdio: 'ignore',
  });
  const base = `http://127.0.0.1:${o.port}`;
  const rss = rssSampler(server.pid!);
  const out: Record<string, unknown> = {};
  try {
    for (let i = 0; ; i++) {
      if (
        await fetch(`${base}/api/health`).then(
          (r) => r.ok,
          () => false,
        )
      )
        break;
      if (i > 600) throw new Error('the server did not start');
      await new Promise((r) => setTimeout(r, 200));
    }
    rss.peak();
    const t = performance.now();
    const first = await fetch(`${base}/api/search`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"imageId":1,"k":10}',
    });
    if (!first.ok) throw new Error(`first search failed: ${first.status} ${await first.text()}`);
    out.first_search = { seconds: round((performance.now() - t) / 1000), web_peak_rss_mb: rss.peak() };
    const random = () => 1 + Math.floor(Math.random() * n);
    const drive = async (request: autocannon.Request) => {
      // Two seconds of the same load first, not counted: the server's code paths are compiled (JIT) by then.
      await autocannon({ url: base, connections: o.connections, duration: 2, requests: [request] });
      const cpu = cpuSeconds(server.pid!);
      const r = await autocannon({ url: base, connections: o.connections, duration: o.seconds, requests: [request] });
      return {
        rps: Math.round(r.requests.average),
        p50_ms: r.latency.p50,
        p99_ms: r.latency.p99,
        errors: r.errors + r.non2xx,
        // The server's own CPU per request: what the neighbours on shared cores do not change.
        server_cpu_ms_per_request: round(((cpuSeconds(server.pid!) - cpu) * 1000) / Math.max(1, r.requests.total), 2),
        web_peak_rss_mb: rss.peak(),
      };
    };
    out.search_by_id = await drive({
      method: 'POST',
      path: '/api/search',
      headers: { 'content-type': 'application/json' },
      setupRequest: (req) => ({ ...req, body: JSON.stringify({ imageId: random(), k: 10 }) }),
    });
    const test = await loadFashionMnist('test', { limit: 1 });
    const png = await sharp(test.pixels as Uint8Array, { raw: { width: 28, height: 28, channels: 1 } })
      .png()
      .toBuffer();
    const upload = multipart(png, { k: '10' });
    out.search_by_upload = await drive({
      method: 'POST',
      path: '/api/search',
      headers: { 'content-type': upload.type },
      body: upload.body,
    });
    out.map_get = {
      ...(await timedGet(`${base}/api/map?format=binary&method=pca${cluster ? `&run=${cluster.run}` : ''}`, 1)),
      web_peak_rss_mb: rss.peak(),
    };
    out.map_get_json = {
      ...(await timedGet(`${base}/api/map?method=pca${cluster ? `&run=${cluster.run}` : ''}`, 1)),
      web_peak_rss_mb: rss.peak(),
    };
    out.listing_last_page = {
      // Newest first by id: the last page holds ids 1..100, after the cursor 101.
      ...(await timedGet(`${base}/api/images?limit=100&cursor=${Math.min(n, 100) + 1}`)),
      web_peak_rss_mb: rss.peak(),
    };
    if (cluster)
      out.cluster_last_page = {
        ...(await timedGet(`${base}/api/clusters/${cluster.run}/${cluster.cluster}?limit=120&cursor=${cluster.lastCursor}`)),
        web_peak_rss_mb: rss.peak(),
      };
    out.map_in_browser = { ...(await mapInBrowser(base)), web_peak_rss_mb: rss.peak() };
  } finally {
    rss.stop();
    server.kill('SIGTERM');
  }
  return out;
}

await runCli(async () => {
  program.parse();
  const o = z
    .object({
      images: z.string().transform((s) => s.split(',').map((v) => z.coerce.number().int().min(1000).max(10_000_000).parse(v.trim()))),
      seconds: z.coerce.number().int().min(1).max(600),
      connections: z.coerce.number().int().min(1).max(256),
      port: z.coerce.number().int().min(1024).max(65535),
      stepTimeout: z.coerce.number().min(1),
      skip: z.string().transform((s) => s.split(',').filter(Boolean)),
      keep: z.boolean().optional(),
      step: z.enum(WORKER_STEPS).optional(),
      data: z.string().optional(),
    })
    .parse(program.opts());
  if (o.step) {
    await initEngine();
    const library = openLibrary(parseConfig({ LATENT_ATLAS_DATA_DIR: o.data ?? '' }));
    try {
      const cpu = process.cpuUsage();
      const result = await workerStep(o.step, library);
      const used = process.cpuUsage(cpu);
      // CPU seconds too: on shared cores the wall clock also measures the neighbours.
      console.log(
        JSON.stringify({ ...result, cpu_s: round((used.user + used.system) / 1e6), worker_peak_rss_mb: mb(statusKb('self', 'VmHWM')) }),
      );
    } finally {
      library.close();
    }
    return;
  }
  if (!o.skip.includes('web') && !existsSync(join('.next', 'BUILD_ID'))) throw new Error('the app is not built: run npm run build first');
  mkdirSync(BENCH_HOME, { recursive: true });
  for (const n of o.images) {
    const dir = join(BENCH_HOME, `lib-${n}`);
    log(`N = ${n}: building the library in ${dir}…`);
    const result: Record<string, unknown> = { images: n, cores: (await import('node:os')).availableParallelism() };
    result.library_build_s = round(await buildLibrary(dir, n));
    for (const step of WORKER_STEPS) {
      if (o.skip.includes(step) || (step === 'kmeans_compare' && n > COMPARE_LIMIT)) continue;
      log(`N = ${n}: ${step}…`);
      result[step] = await runWorkerStep(step, dir, o.stepTimeout);
      log(`  ${JSON.stringify(result[step])}`);
    }
    Object.assign(result, diskBytes(dir));
    const k50 = result.kmeans as { run?: number; largest?: { cluster: number; size: number } } | undefined;
    if (!o.skip.includes('web')) log(`N = ${n}: web steps…`);
    if (!o.skip.includes('web'))
      Object.assign(result, await webSteps(dir, n, o, k50?.run && k50.largest ? lastClusterPage(dir, k50.run, k50.largest) : null));
    console.log(JSON.stringify(result));
    if (!o.keep) rmSync(dir, { recursive: true, force: true });
  }
});
