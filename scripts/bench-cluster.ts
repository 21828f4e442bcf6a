/**
 * npm run bench:cluster — the project's k-means (k = 20, 64-d, around 50 Gaussian centres, as
 * ../shared/bench/reference_kmeans.py) on 10,000 and 100,000 vectors, with 1 and 3 restarts;
 * where python3-sklearn is installed the reference runs first in the same invocation. One JSON line.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { kmeans } from '../lib/clustering/kmeans';
import { parseConfig } from '../lib/config';
import { initEngine } from '../lib/engine/backend';
import { seededRandom } from '../lib/random';
import { runCli } from './cli/run';

const REFERENCE = new URL('../../shared/bench/reference_kmeans.py', import.meta.url).pathname;

function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(random() || 1e-12)) * Math.cos(2 * Math.PI * random());
}

function vectors(n: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  const centres = Array.from({ length: 50 }, () => Float32Array.from({ length: 64 }, () => gaussian(random) * 3));
  const out = new Float32Array(n * 64);
  for (let i = 0; i < n; i++) {
    const c = centres[Math.floor(random() * 50)]!;
    for (let j = 0; j < 64; j++) out[i * 64 + j] = c[j]! + gaussian(random);
  }
  return out;
}

await runCli(async () => {
  let reference: Record<string, number> | null = null;
  if (existsSync(REFERENCE)) {
    const run = spawnSync('/usr/bin/python3', [REFERENCE], { encoding: 'utf8' });
    if (run.status === 0) reference = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Record<string, number>;
  }
  const engine = await initEngine(parseConfig().backend);
  const line: Record<string, unknown> = { backend: engine.backend, k: 20, dim: 64 };
  kmeans(vectors(2000, 9), 2000, 64, { k: 20, restarts: 1 }); // warm-up
  for (const n of [10_000, 100_000]) {
    const data = vectors(n, 1);
    for (const restarts of [1, 3]) {
      const started = performance.now();
      const result = kmeans(data, n, 64, { k: 20, restarts, maxIterations: 100, seed: 0 });
      const seconds = (performance.now() - started) / 1000;
      const key = `kmeans_${n / 1000}k${restarts === 3 ? '_init3' : ''}_s`;
      line[key] = Number(seconds.toFixed(3));
      line[`${key.replace(/_s$/, '')}_iterations`] = result.iterations;
    }
  }
  if (reference) {
    line.reference = reference;
    line.ratio_100k = Number(((line.kmeans_100k_s as number) / reference.sklearn_n100000_init1_s!).toFixed(2));
    line.ratio_100k_init3 = Number(((line.kmeans_100k_init3_s as number) / reference.sklearn_n100000_init3_s!).toFixed(2));
  }
  console.log(JSON.stringify(line));
});
