/**
 * npm start — Latent Atlas in one command: builds the web app the first time (or with --build),
 * serves it on LATENT_ATLAS_HOST:LATENT_ATLAS_PORT (default http://127.0.0.1:3000), and runs the
 * background job worker in this process, showing the running job's progress. `--dev` serves with
 * `next dev` instead (hot reload). Ctrl-C stops both; an interrupted resumable job continues at
 * the next start. The web pages guide a newcomer from an empty library to a trained model.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { parseConfig } from '../lib/config';
import { initEngine } from '../lib/engine/backend';
import { recentJobs, runJobs, WORKER_NAME } from '../lib/jobs/job-service';
import { openLibrary, removeOrphanedTempFiles } from '../lib/services/library';
import { runCli } from './cli/run';

const NEXT = createRequire(import.meta.url).resolve('next/dist/bin/next');
/** The production server (Next.js behind our own listener and its timeouts). */
const WEB_SERVER = fileURLToPath(new URL('./web-server.ts', import.meta.url));

const program = new Command('start')
  .option('--dev', 'serve with next dev (hot reload) instead of the production build')
  .option('--build', 'rebuild the web app first (it is built automatically when no build exists)')
  .option('--no-web', 'run only the job worker');

/** One status line for the running job (a progress bar's worth of text). */
function jobLine(library: ReturnType<typeof openLibrary>): string | null {
  const [running] = recentJobs(library, { state: 'running', limit: 1 });
  if (!running) return null;
  const p = running.progress;
  const share = p.total ? ` ${Math.floor(((p.done ?? 0) / p.total) * 100)}% (${p.done}/${p.total})` : '';
  const rate = p.imagesPerSec ? ` ${Math.round(p.imagesPerSec)} img/s` : '';
  const eta = p.etaSeconds !== undefined ? ` ETA ${Math.round(p.etaSeconds)} s` : '';
  const loss = p.loss !== undefined ? ` loss ${p.loss.toFixed(5)}` : '';
  return `job ${running.id} ${running.kind} ${p.phase ?? ''}${share}${loss}${rate}${eta}`;
}

await runCli(async () => {
  program.parse();
  const o = program.opts<{ dev?: boolean; build?: boolean; web: boolean }>();
  const config = parseConfig();
  process.env.NEXT_TELEMETRY_DISABLED ??= '1'; // Next.js would otherwise try to send anonymous usage data
  if (o.web && !o.dev && (o.build || !existsSync('.next/BUILD_ID'))) {
    process.stderr.write('building the web app (once; about 2–4 minutes on 2 cores)…\n');
    const built = spawnSync(process.execPath, [NEXT, 'build'], { stdio: 'inherit' });
    if (built.status !== 0) throw new Error(`next build failed (exit ${built.status})`);
  }
  const engine = await initEngine(config.backend);
  const library = openLibrary(config, { check: true }); // every page read once per start: a damaged file stops here
  const orphans = await removeOrphanedTempFiles(config);
  if (orphans) process.stderr.write(`removed ${orphans} temp files left by a killed process\n`);
  const stop = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => {
      process.stderr.write('\nstopping…\n');
      stop.abort();
    });
  // The web server is supervised: if it dies (a native decoder crash, an out-of-memory kill), it is
  // started again, so a bad file costs the requests in flight, not the service. Five deaths within
  // a minute stop everything (something is wrong that a restart will not fix).
  let web: ChildProcess | null = null;
  const deaths: number[] = [];
  const serve = () => {
    const args = o.dev ? [NEXT, 'dev', '-H', config.host, '-p', String(config.port)] : ['--import', 'tsx', WEB_SERVER];
    web = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    web.once('exit', (code, signal) => {
      if (stop.signal.aborted) return;
      deaths.push(Date.now());
      const recent = deaths.filter((t) => Date.now() - t < 60_000).length;
      if (recent >= 5) {
        process.stderr.write(`the web server stopped ${recent} times within a minute (last: ${signal ?? `exit ${code}`}); stopping\n`);
        stop.abort();
        return;
      }
      process.stderr.write(`the web server stopped (${signal ?? `exit ${code}`}); starting it again\n`);
      setTimeout(() => stop.signal.aborted || serve(), 1000);
    });
  };
  if (o.web) serve();
  if (o.web) process.stderr.write(`Latent Atlas: http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}\n`);
  process.stderr.write(`worker ${WORKER_NAME} on ${engine.backend}, library ${config.dataDir}\n`);
  let last = '';
  const show = setInterval(
    () => {
      const line = jobLine(library);
      if (!line || (line === last && !process.stderr.isTTY)) return;
      last = line;
      process.stderr.write(process.stderr.isTTY ? `\r${line.padEnd(100)}` : `${line}\n`);
    },
    process.stderr.isTTY ? 500 : 10_000,
  );
  try {
    await runJobs(library, {
      stop: stop.signal,
      onJob: (job) =>
        process.stderr.write(
          `\njob ${job.id} (${job.kind}) ${job.state}${job.error ? `: ${job.error}` : ''}${job.result ? ` ${JSON.stringify(job.result).slice(0, 200)}` : ''}\n`,
        ),
      onNotice: (line) => process.stderr.write(`${line}\n`),
    });
  } finally {
    clearInterval(show);
    (web as ChildProcess | null)?.kill('SIGTERM');
    library.close();
  }
});
