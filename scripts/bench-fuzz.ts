/**
 * npm run bench:fuzz -- [--cases 10000] [--seed 1] [--concurrency 2] [--save <dir>] [--replay <case seed>]
 * The decoder fuzzer (issue 18, item 1): mutations of real files of every accepted format
 * (test/fuzz/corpus.ts, test/fuzz/mutate.ts) sent through the real upload API of the built app
 * (run `npm run build` first), on a fresh library with a small active model so that accepted files
 * are decoded, embedded and stored as any upload is. The server runs unsupervised: a death is
 * counted, its cases recorded, and the server started again. A case fails when it is answered
 * 5xx, not answered at all, or kills the server. One JSON line: cases, outcomes by status (and by
 * format), 5xx, server deaths, peak resident memory (VmHWM), latency, and the seeds of failures —
 * `--replay <seed>` sends one case again, `--save <dir>` writes the failing files for unit tests.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { parseConfig } from '../lib/config';
import { initEngine } from '../lib/engine/backend';
import { openLibrary } from '../lib/services/library';
import { fuzzCorpus } from '../test/fuzz/corpus';
import { caseSeed, fuzzCase, type FuzzCase } from '../test/fuzz/mutate';
import { addModel } from '../test/helpers/library';
import { runCli, wholeFlag } from './cli/run';
import { WebProcess } from './cli/web-process';

const program = new Command('bench:fuzz')
  .option('--cases <n>', 'cases to send', wholeFlag('--cases', 1), 1000)
  .option('--seed <n>', 'seed of the run (each case has its own seed, derived from it)', wholeFlag('--seed', 0), 1)
  .option('--concurrency <n>', 'uploads in flight', wholeFlag('--concurrency', 1), 2)
  .option('--port <n>', 'port', wholeFlag('--port', 1), 3919)
  .option('--save <dir>', 'write the bytes of failing cases here (named by seed)')
  .option('--replay <seed>', 'send only the case with this seed', wholeFlag('--replay', 0));

interface Failure {
  seed: number;
  file: string;
  mutation: string;
  outcome: string;
  message: string;
}

/** Sends one case; its outcome: the HTTP status, 'no-response' or 'server-death', with the error message. */
async function send(server: WebProcess, c: FuzzCase): Promise<{ outcome: string; message: string; ms: number }> {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(c.bytes)], { type: 'application/octet-stream' }), `fuzz-${c.seed}`);
  const started = performance.now();
  try {
    const response = await fetch(`${server.base}/api/images`, { method: 'POST', body: form, signal: AbortSignal.timeout(120_000) });
    const text = await response.text();
    let message = '';
    try {
      message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? '';
    } catch {
      message = text.slice(0, 200);
    }
    return { outcome: String(response.status), message, ms: performance.now() - started };
  } catch (error) {
    const died = await server.recover();
    return { outcome: died ? 'server-death' : 'no-response', message: String(error), ms: performance.now() - started };
  }
}

/**
 * Sends a case; a request that got no answer while the server stayed up is sent once more — a
 * keep-alive connection the server closed just as the client reused it (the
 * server's keep-alive timer, late on loaded cores) fails the same way, and says nothing about the
 * file. Counted, and a second failure stands.
 */
async function sendWithRetry(server: WebProcess, c: FuzzCase): Promise<{ outcome: string; message: string; ms: number; retried: boolean }> {
  const first = await send(server, c);
  if (first.outcome !== 'no-response') return { ...first, retried: false };
  return { ...(await send(server, c)), retried: true };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

await runCli(async () => {
  program.parse();
  const o = program.opts<{ cases: number; seed: number; concurrency: number; port: number; save?: string; replay?: number }>();
  if (!existsSync('.next/BUILD_ID')) throw new Error('the web app is not built: run `npm run build` first');
  const corpus = await fuzzCorpus();
  const dataDir = mkdtempSync(join(tmpdir(), 'atlas-fuzz-'));
  await initEngine('wasm');
  const library = openLibrary(parseConfig({ LATENT_ATLAS_DATA_DIR: dataDir }));
  await addModel(library, 'fuzz', 8, true); // accepted files are embedded, as any upload
  library.close();
  const server = new WebProcess(dataDir, o.port);
  const started = performance.now();
  const seeds = o.replay !== undefined ? [o.replay] : Array.from({ length: o.cases }, (_, i) => caseSeed(o.seed, i));
  const outcomes: Record<string, number> = {};
  const byFormat: Record<string, Record<string, number>> = {};
  const failures: Failure[] = [];
  const latencies: number[] = [];
  const retries: number[] = [];
  let next = 0;
  try {
    await server.start();
    const client = async () => {
      while (next < seeds.length) {
        const c = fuzzCase(corpus, seeds[next++]!);
        const { outcome, message, ms, retried } = await sendWithRetry(server, c);
        if (retried) retries.push(c.seed);
        latencies.push(ms);
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
        byFormat[c.format] ??= {};
        byFormat[c.format]![outcome] = (byFormat[c.format]![outcome] ?? 0) + 1;
        if (!/^[1-4]\d\d$/.test(outcome)) {
          process.stderr.write(`case ${c.seed} (${c.file}, ${c.mutation}): ${outcome} ${message.slice(0, 200)}\n`);
          failures.push({ seed: c.seed, file: c.file, mutation: c.mutation, outcome, message: message.slice(0, 300) });
          if (o.save) {
            mkdirSync(o.save, { recursive: true });
            writeFileSync(join(o.save, `${c.seed}-${c.format}.bin`), c.bytes);
          }
        }
        if ((next % 500 === 0 || o.replay !== undefined) && next > 0)
          process.stderr.write(`${next}/${seeds.length} cases, ${failures.length} failures, ${server.deaths} server deaths\n`);
      }
    };
    await Promise.all(Array.from({ length: o.concurrency }, client));
  } finally {
    server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
  latencies.sort((a, b) => a - b);
  const count5xx = Object.entries(outcomes)
    .filter(([status]) => /^5\d\d$/.test(status))
    .reduce((n, [, v]) => n + v, 0);
  process.stdout.write(
    `${JSON.stringify({
      cases: seeds.length,
      seed: o.seed,
      corpus_files: corpus.length,
      outcomes,
      by_format: byFormat,
      responses_5xx: count5xx,
      no_response: outcomes['no-response'] ?? 0,
      server_deaths: server.deaths,
      resent_after_no_response: retries,
      max_rss_mb: Math.round(server.peakMb),
      // Decoder processes seen beyond the two a server keeps: each one a decoder that died (crashed, or
      // killed past its deadline or memory limit) and was replaced while the server answered on.
      decoder_restarts: Math.max(0, server.decoderPids.size - 2 * (server.deaths + 1)),
      decoder_max_rss_mb: Math.round(server.decoderPeakMb),
      p50_ms: Math.round(percentile(latencies, 50)),
      p99_ms: Math.round(percentile(latencies, 99)),
      max_ms: Math.round(latencies.at(-1) ?? 0),
      failing_seeds: failures.map((f) => f.seed),
      failures: failures.slice(0, 50),
      seconds: Math.round((performance.now() - started) / 100) / 10,
    })}\n`,
  );
  if (failures.length) process.exitCode = 1;
});
