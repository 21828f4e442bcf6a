/**
 * npm run bench:search [-- --n 100000 --dim 64 --queries 1000 --ef 100[,200] --m 16 --ef-construction 200 --vectors gaussian]
 * The HNSW index on N vectors — synthetic-but-clustered (Gaussian around 50 centres), or
 * `--vectors fashion`: real Fashion-MNIST codes with noise, as bench:scale makes them (64-d) —
 * build time, memory, and for each ef: queries/s, p50/p99 latency and recall@10 against exact
 * search. One JSON line per ef: the table that chooses M, efConstruction and ef.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { z } from 'zod';
import { seededRandom } from '../lib/random';
import { HnswIndex } from '../lib/vector-index/hnsw-index';
import { exactSearch } from '../lib/vectors/distance';
import { BASE, fashionCodes, noisyCodes } from './cli/fashion-codes';
import { runCli } from './cli/run';

const program = new Command('bench:search')
  .option('--n <n>', 'stored vectors (up to 1,000,000)', '100000')
  .option('--dim <d>', 'dimension', '64')
  .option('--queries <q>', 'timed queries', '1000')
  .option('--ef <list>', 'HNSW ef at query time, comma-separated (default: the index default)')
  .option('--m <m>', 'HNSW graph degree (default: the index default)')
  .option('--ef-construction <n>', 'HNSW build-time candidate list (default: the index default)')
  .option('--vectors <kind>', 'gaussian (synthetic) or fashion (real codes with noise)', 'gaussian')
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
      ef: z
        .string()
        .transform((v) => v.split(',').map((e) => z.coerce.number().int().min(1).parse(e)))
        .optional(),
      m: z.coerce.number().int().min(2).max(128).optional(),
      efConstruction: z.coerce.number().int().min(8).max(2000).optional(),
      vectors: z.enum(['gaussian', 'fashion']),
      recallQueries: z.coerce.number().int().min(10),
    })
    .parse(program.opts());
  let dim = o.dim;
  let entries: { id: number; vector: Float32Array }[];
  let queries: Float32Array[];
  const count = Math.max(o.queries, o.recallQueries);
  if (o.vectors === 'fashion') {
    const base = await fashionCodes();
    dim = base.dim;
    const stored = noisyCodes(base);
    const held = noisyCodes(base, 11); // queries: other noisy copies, not in the index
    entries = Array.from({ length: o.n }, (_, i) => {
      const vector = new Float32Array(dim);
      stored(i, vector);
      return { id: i + 1, vector };
    });
    const random = seededRandom(1);
    queries = Array.from({ length: count }, () => {
      const vector = new Float32Array(dim);
      held(Math.floor(random() * BASE), vector);
      return vector;
    });
  } else {
    const random = seededRandom(1);
    const centres = Array.from({ length: 50 }, () => Float32Array.from({ length: dim }, () => gaussian(random) * 3));
    const draw = () => {
      const c = centres[Math.floor(random() * centres.length)]!;
      return Float32Array.from(c, (v) => v + gaussian(random));
    };
    entries = Array.from({ length: o.n }, (_, i) => ({ id: i + 1, vector: draw() }));
    queries = Array.from({ length: count }, draw);
  }
  const dir = mkdtempSync(join(tmpdir(), 'latent-atlas-bench-search-'));
  try {
    const rssBefore = process.memoryUsage().rss;
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    const params = {
      dim,
      space: 'l2' as const,
      ...(o.m ? { m: o.m } : {}),
      ...(o.efConstruction ? { efConstruction: o.efConstruction } : {}),
    };
    const index = HnswIndex.create(join(dir, 'bench'), params, o.n);
    for (let s = 0; s < entries.length; s += 10_000) index.add(entries.slice(s, s + 10_000));
    const buildSeconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    // CPU time as well as wall time: on shared cores the wall clock measures the neighbours too.
    const buildCpuSeconds = (cpu.user + cpu.system) / 1e6;
    const rssMb = process.memoryUsage().rss / 2 ** 20;
    const exact = queries.slice(0, o.recallQueries).map((q) => new Set(exactSearch('l2', entries, q, 10).map((n) => n.id)));
    for (const ef of o.ef ?? [undefined]) {
      const searchOptions = ef ? { ef } : {};
      for (const q of queries.slice(0, 50)) index.search(q, 10, searchOptions);
      const latencies: number[] = [];
      const timed = performance.now();
      for (const q of queries.slice(0, o.queries)) {
        const t = performance.now();
        index.search(q, 10, searchOptions);
        latencies.push(performance.now() - t);
      }
      const qps = o.queries / ((performance.now() - timed) / 1000);
      latencies.sort((a, b) => a - b);
      let found = 0;
      exact.forEach((truth, i) => (found += index.search(queries[i]!, 10, searchOptions).filter((n) => truth.has(n.id)).length));
      console.log(
        JSON.stringify({
          n: o.n,
          dim,
          vectors: o.vectors,
          m: o.m ?? 'default',
          ef_construction: o.efConstruction ?? 'default',
          ef: ef ?? 'default',
          qps: Math.round(qps),
          p50_ms: Number(latencies[Math.floor(latencies.length * 0.5)]!.toFixed(3)),
          p99_ms: Number(latencies[Math.floor(latencies.length * 0.99)]!.toFixed(3)),
          recall_at_10: Number((found / (o.recallQueries * 10)).toFixed(4)),
          build_s: Number(buildSeconds.toFixed(2)),
          build_cpu_s: Number(buildCpuSeconds.toFixed(2)),
          rss_mb: Math.round(rssMb),
          rss_growth_mb: Math.round((rssMb * 2 ** 20 - rssBefore) / 2 ** 20),
        }),
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
