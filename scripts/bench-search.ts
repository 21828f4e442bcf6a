/**
 * npm run bench:search [-- --n 100000 --dim 64 --queries 1000 --ef 100]
 * The HNSW index on N synthetic-but-clustered vectors (Gaussian around 50 centres): build time,
 * memory, queries/s and p50/p99 latency at the given ef, and recall@10 against exact search.
 * One JSON line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { z } from 'zod';
import { seededRandom } from '../lib/models/layers';
import { HnswIndex } from '../lib/vector-index/hnsw-index';
import { exactSearch } from '../lib/vectors/distance';
import { runCli } from './cli/run';

const program = new Command('bench:search')
  .option('--n <n>', 'stored vectors (up to 1,000,000)', '100000')
  .option('--dim <d>', 'dimension', '64')
  .option('--queries <q>', 'timed queries', '1000')
  .option('--ef <ef>', 'HNSW ef at query time (default: the index default)')
  .option('--recall-queries <r>', 'queries checked against exact search', '200');

function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(random() || 1e-12)) * Math.cos(2 * Math.PI * random());
}

await runCli(async () => {
  program.parse();
  const o = z
    .object({
      n: z.coerce.number().int().min(100).max(1_000_000),
      dim: z.coerce.number().int().min(2).max(4096),
      queries: z.coerce.number().int().min(10),
      ef: z.coerce.number().int().min(1).optional(),
      recallQueries: z.coerce.number().int().min(10),
    })
    .parse(program.opts());
  const random = seededRandom(1);
  const centres = Array.from({ length: 50 }, () => Float32Array.from({ length: o.dim }, () => gaussian(random) * 3));
  const draw = () => {
    const c = centres[Math.floor(random() * centres.length)]!;
    return Float32Array.from(c, (v) => v + gaussian(random));
  };
  const entries = Array.from({ length: o.n }, (_, i) => ({ id: i + 1, vector: draw() }));
  const queries = Array.from({ length: Math.max(o.queries, o.recallQueries) }, draw);
  const dir = mkdtempSync(join(tmpdir(), 'latent-atlas-bench-search-'));
  try {
    const rssBefore = process.memoryUsage().rss;
    let started = performance.now();
    const index = HnswIndex.create(join(dir, 'bench'), { dim: o.dim, space: 'l2' }, o.n);
    for (let s = 0; s < entries.length; s += 10_000) index.add(entries.slice(s, s + 10_000));
    const buildSeconds = (performance.now() - started) / 1000;
    const rssMb = process.memoryUsage().rss / 2 ** 20;
    const searchOptions = o.ef ? { ef: o.ef } : {};
    for (const q of queries.slice(0, 50)) index.search(q, 10, searchOptions);
    const latencies: number[] = [];
    started = performance.now();
    for (const q of queries.slice(0, o.queries)) {
      const t = performance.now();
      index.search(q, 10, searchOptions);
      latencies.push(performance.now() - t);
    }
    const qps = o.queries / ((performance.now() - started) / 1000);
    latencies.sort((a, b) => a - b);
    let found = 0;
    for (const q of queries.slice(0, o.recallQueries)) {
      const exact = new Set(exactSearch('l2', entries, q, 10).map((n) => n.id));
      found += index.search(q, 10, searchOptions).filter((n) => exact.has(n.id)).length;
    }
    console.log(
      JSON.stringify({
        n: o.n,
        dim: o.dim,
        ef: o.ef ?? 'default (100)',
        qps: Math.round(qps),
        p50_ms: Number(latencies[Math.floor(latencies.length * 0.5)]!.toFixed(3)),
        p99_ms: Number(latencies[Math.floor(latencies.length * 0.99)]!.toFixed(3)),
        recall_at_10: Number((found / (o.recallQueries * 10)).toFixed(4)),
        build_s: Number(buildSeconds.toFixed(2)),
        rss_mb: Math.round(rssMb),
        rss_growth_mb: Math.round((rssMb * 2 ** 20 - rssBefore) / 2 ** 20),
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
