/**
 * npm run bench:scale -- --images 100000[,300000,1000000] [--seconds 10] [--connections 8] [--only …] [--keep] [--reuse]
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
 * resident memory (VmHWM) is that step's alone. The web-side steps go through the app as `npm start`
 * serves it (scripts/web-server.ts over the build: run `npm run build` first): search by id and by
 * upload at 8 connections (autocannon, in its own process: scripts/cli/load-client.ts, whose CPU
 * share is reported beside the server's), the map as the browser gets it, the last page of the library and of the largest
 * cluster, and the Clusters page in Debian's Chromium (when the WebGL map's first drawing lands after
 * the page opens, and a hover); the server's resident memory is sampled every 100 ms and its peak
 * reported per step, with its CPU time per search request (what shared cores do not change).
 * One JSON line per N on stdout, with the load average at its start and end; progress on stderr.
 * `--keep` keeps a library, `--reuse` measures a kept one again, `--only web,kmeans` re-measures
 * some steps.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
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
import { clusterMemberPage, listClusterRuns, runAssignments } from '../lib/store/clusters-repo';
import { immediate } from '../lib/store/database';
import { putEmbedding } from '../lib/store/embeddings-repo';
import { insertImage } from '../lib/store/images-repo';
import { activeModel } from '../lib/store/models-repo';
import { BASE, BENCH_HOME, BENCH_MODEL_DIR, fashionCodes, labelOfImage, noisyCodes } from './cli/fashion-codes';
import type { LoadResult, LoadSpec } from './cli/load-client';
import { runCli } from './cli/run';
import { WebProcess } from './cli/web-process';

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
  .option('--only <list>', 'run only these steps (names as for --skip); the others are left out', '')
  .option('--keep', 'keep the library folders (data/bench-scale/lib-<N>)')
  .option('--reuse', 'measure the library kept by an earlier --keep run instead of building it again (kept again)')
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
      // recall@10 of the app's search by id (k + 1 asked, the image itself dropped) against exact
      // search, at the app's ef (the index's default) and at others, with the search's own time.
      const { ids, data, dim } = loadActiveVectors(library);
      const random = seededRandom(3);
      const sample = Array.from({ length: 200 }, () => Math.floor(random() * ids.length));
      const exact = exactNeighbors(data, ids.length, dim, sample, 10);
      const measure = (ef?: number) => {
        let found = 0;
        const t = performance.now();
        sample.forEach((row, q) => {
          const truth = new Set(Array.from(exact[q]!, (r) => ids[r]!));
          const hits = opened.index
            .search(data.subarray(row * dim, (row + 1) * dim), 11, ef === undefined ? {} : { ef })
            .filter((h) => h.id !== ids[row])
            .slice(0, 10);
          found += hits.filter((h) => truth.has(h.id)).length;
        });
        return {
          recall_at_10: round(found / (sample.length * 10), 4),
          us_per_search: round(((performance.now() - t) * 1000) / sample.length, 1),
        };
      };
      measure(); // warm: the graph's pages come into memory
      const app = measure();
      const byEf = Object.fromEntries([16, 32, 64, 128].map((ef) => [`ef_${ef}`, measure(ef)]));
      return { seconds: open, open_peak_rss_mb: openPeak, rebuilt: opened.rebuilt, ...app, by_ef: byEf };
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
      const found = await findNearDuplicates(library);
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

const LOAD_CLIENT = fileURLToPath(new URL('./cli/load-client.ts', import.meta.url));

/**
 * One load phase from the load generator in its own process (same priority: a child inherits it):
 * latency and throughput as it saw them, the server's CPU per request over the measured window,
 * and what the generator itself cost — its CPU seconds, and its share of the CPU that server and
 * generator used together in that window (both run on the same cores).
 */
function loadPhase(spec: LoadSpec, serverPid: number): Promise<Record<string, number>> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', LOAD_CLIENT, JSON.stringify(spec)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    let serverCpu = 0;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!serverCpu && out.startsWith('warm\n')) serverCpu = cpuSeconds(serverPid);
    });
    child.on('error', fail);
    child.on('exit', (code) => {
      const server = cpuSeconds(serverPid) - serverCpu;
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) return fail(new Error(`the load generator failed (exit ${code})`));
      const r = JSON.parse(line) as LoadResult;
      done({
        rps: r.rps,
        p50_ms: r.p50_ms,
        p99_ms: r.p99_ms,
        max_ms: r.max_ms,
        errors: r.errors,
        // The server's own CPU per request: what the neighbours on shared cores do not change.
        server_cpu_ms_per_request: round((server * 1000) / Math.max(1, r.requests), 2),
        server_cores: round(server / r.seconds),
        load_generator_cores: round(r.client_cpu_s / r.seconds),
        load_generator_cpu_share: round(r.client_cpu_s / Math.max(0.01, r.client_cpu_s + server), 2),
      });
    });
  });
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

/**
 * The k = 50 run's largest cluster and the cursor of its last page: from this run's kmeans step,
 * or (a reused library whose kmeans step was left out) the newest k = 50 run stored in it.
 */
function largestCluster(dir: string, kmeansStep: unknown): { run: number; cluster: number; lastCursor: string } | null {
  const step = kmeansStep as { run?: number; largest?: { cluster: number; size: number } } | undefined;
  if (step?.run && step.largest) return lastClusterPage(dir, step.run, step.largest);
  const library = openLibrary(parseConfig({ LATENT_ATLAS_DATA_DIR: dir }));
  let found: { run: number; largest: { cluster: number; size: number } } | null = null;
  try {
    const run = listClusterRuns(library.db).find((r) => r.params.k === 50 && !r.params.auto);
    if (run) {
      const largest = run.result.clusters.reduce((a, b) => (b.size > a.size ? b : a));
      found = { run: run.id, largest: { cluster: largest.cluster, size: largest.size } };
    }
  } finally {
    library.close();
  }
  return found && lastClusterPage(dir, found.run, found.largest);
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

/** The web-side steps against the app as `npm start` serves it (scripts/web-server.ts) over the library in `dir`. */
async function webSteps(
  dir: string,
  n: number,
  o: { seconds: number; connections: number; port: number },
  cluster: { run: number; cluster: number; lastCursor: string } | null,
) {
  const web = new WebProcess(dir, o.port);
  await web.start();
  const server = web.child!;
  const base = web.base;
  const rss = rssSampler(server.pid!);
  const out: Record<string, unknown> = {};
  const scratch = mkdtempSync(join(tmpdir(), 'bench-scale-'));
  try {
    rss.peak();
    const t = performance.now();
    const first = await fetch(`${base}/api/search`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{"imageId":1,"k":10}',
    });
    if (!first.ok) throw new Error(`first search failed: ${first.status} ${await first.text()}`);
    out.first_search = {
      seconds: round((performance.now() - t) / 1000),
      response_bytes: (await first.arrayBuffer()).byteLength,
      web_peak_rss_mb: rss.peak(),
    };
    /**
     * One load phase from a separate load-generator process (scripts/cli/load-client.ts): the
     * server's CPU per request and the generator's share of the CPU the two used in the window.
     */
    const drive = async (request: LoadSpec['request']) => {
      const measured = await loadPhase(
        { url: base, connections: o.connections, warmupSeconds: 2, seconds: o.seconds, request },
        server.pid!,
      );
      return { ...measured, web_peak_rss_mb: rss.peak() };
    };
    out.search_by_id = await drive({ kind: 'search-by-id', images: n, k: 10 });
    const test = await loadFashionMnist('test', { limit: 1 });
    const png = await sharp(test.pixels as Uint8Array, { raw: { width: 28, height: 28, channels: 1 } })
      .png()
      .toBuffer();
    const upload = multipart(png, { k: '10' });
    const bodyFile = join(scratch, 'upload.bin');
    writeFileSync(bodyFile, upload.body);
    out.search_by_upload = await drive({ kind: 'body', path: '/api/search', contentType: upload.type, bodyFile });
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
    web.stop();
    rmSync(scratch, { recursive: true, force: true });
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
      only: z.string().transform((s) => s.split(',').filter(Boolean)),
      keep: z.boolean().optional(),
      reuse: z.boolean().optional(),
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
  const wanted = (step: WorkerStep | 'web') => !o.skip.includes(step) && (o.only.length === 0 || o.only.includes(step));
  if (wanted('web') && !existsSync(join('.next', 'BUILD_ID'))) throw new Error('the app is not built: run npm run build first');
  mkdirSync(BENCH_HOME, { recursive: true });
  for (const n of o.images) {
    const dir = join(BENCH_HOME, `lib-${n}`);
    const reused = o.reuse && existsSync(join(dir, 'atlas.db'));
    const result: Record<string, unknown> = {
      images: n,
      cores: availableParallelism(),
      load_average_start: loadavg().map((x) => round(x)),
    };
    if (reused) {
      log(`N = ${n}: reusing the library in ${dir}`);
      result.reused_library = true;
    } else {
      log(`N = ${n}: building the library in ${dir}…`);
      result.library_build_s = round(await buildLibrary(dir, n));
    }
    for (const step of WORKER_STEPS) {
      if (!wanted(step) || (step === 'kmeans_compare' && n > COMPARE_LIMIT)) continue;
      log(`N = ${n}: ${step}…`);
      result[step] = await runWorkerStep(step, dir, o.stepTimeout);
      log(`  ${JSON.stringify(result[step])}`);
    }
    Object.assign(result, diskBytes(dir));
    if (wanted('web')) {
      log(`N = ${n}: web steps…`);
      Object.assign(result, await webSteps(dir, n, o, largestCluster(dir, result.kmeans)));
    }
    result.load_average_end = loadavg().map((x) => round(x));
    console.log(JSON.stringify(result));
    if (!o.keep && !o.reuse) rmSync(dir, { recursive: true, force: true });
  }
});
