/**
 * The load generator of bench:scale, as its own process: autocannon driving one kind of request at
 * the app. It runs apart from the benchmark (and at its priority, which a child inherits) so that
 * its own CPU — parsing responses, timing, building requests — is counted apart from the server's
 * and can be reported as its share of the cores the two share. Usage (one JSON argument):
 *
 *   node --import tsx scripts/cli/load-client.ts '{"url":…,"connections":8,"warmupSeconds":2,"seconds":10,"request":…}'
 *
 * Prints `warm` on stdout when the warm-up is over (the measured window starts), then one JSON line:
 * throughput, p50/p99, errors and the client's own CPU seconds over the measured window.
 */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { z } from 'zod';
import { runCli } from './run';

/** What to send: a search by a random stored id (1..images), or one fixed body from a file. */
const requestSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('search-by-id'), images: z.number().int().min(1), k: z.number().int().min(1).max(100) }),
  z.strictObject({ kind: z.literal('body'), path: z.string().min(1), contentType: z.string().min(1), bodyFile: z.string().min(1) }),
]);
const loadSpecSchema = z.strictObject({
  url: z.string().url(),
  connections: z.number().int().min(1).max(256),
  warmupSeconds: z.number().int().min(0).max(60),
  seconds: z.number().int().min(1).max(600),
  request: requestSchema,
});
export type LoadSpec = z.infer<typeof loadSpecSchema>;

export interface LoadResult {
  rps: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  errors: number;
  requests: number;
  seconds: number;
  /** CPU seconds (user + system) the load generator itself used during the measured window. */
  client_cpu_s: number;
}

function request(spec: LoadSpec['request']): autocannon.Request {
  if (spec.kind === 'search-by-id') {
    const { images, k } = spec;
    return {
      method: 'POST',
      path: '/api/search',
      headers: { 'content-type': 'application/json' },
      setupRequest: (req) => ({ ...req, body: `{"imageId":${1 + Math.floor(Math.random() * images)},"k":${k}}` }),
    };
  }
  return { method: 'POST', path: spec.path, headers: { 'content-type': spec.contentType }, body: readFileSync(spec.bodyFile) };
}

await runCli(async () => {
  const spec = loadSpecSchema.parse(JSON.parse(process.argv[2] ?? '{}'));
  const requests = [request(spec.request)];
  // Not counted: the server's code paths are compiled (JIT) by the end of it.
  if (spec.warmupSeconds) await autocannon({ url: spec.url, connections: spec.connections, duration: spec.warmupSeconds, requests });
  process.stdout.write('warm\n');
  const cpu = process.cpuUsage();
  const started = performance.now();
  const r = await autocannon({ url: spec.url, connections: spec.connections, duration: spec.seconds, requests });
  const used = process.cpuUsage(cpu);
  const result: LoadResult = {
    rps: Math.round(r.requests.average),
    p50_ms: r.latency.p50,
    p99_ms: r.latency.p99,
    max_ms: r.latency.max,
    errors: r.errors + r.non2xx + r.timeouts,
    requests: r.requests.total,
    seconds: Math.round((performance.now() - started) / 10) / 100,
    client_cpu_s: Math.round((used.user + used.system) / 1e4) / 100,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
});
