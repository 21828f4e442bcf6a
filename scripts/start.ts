/**
 * npm start — the one command a newcomer runs: the background worker, in this terminal, with the
 * running job's progress. On a library with no model yet it first queues the reference
 * autoencoder's training on Fashion-MNIST (10 epochs, activated when done). Ctrl-C stops; an
 * interrupted resumable job continues at the next start.
 */
import { parseConfig } from '../lib/config';
import { initEngine } from '../lib/engine/backend';
import { queueJob, runJobs, WORKER_NAME } from '../lib/jobs/job-service';
import { PRESETS } from '../lib/models/spec';
import { openLibrary } from '../lib/services/library';
import { listJobs } from '../lib/store/jobs-repo';
import { listModels } from '../lib/store/models-repo';
import { runCli } from './cli/run';

await runCli(async () => {
  const config = parseConfig();
  const engine = await initEngine(config.backend);
  const library = openLibrary(config);
  try {
    if (listModels(library.db).length === 0 && listJobs(library.db, { states: ['queued', 'running'] }).every((j) => j.kind !== 'train')) {
      const job = queueJob(library, 'train', {
        data: 'fashion-mnist',
        spec: PRESETS['reference-cae'],
        options: { epochs: 10, validationSplit: 0 },
        activate: true,
      });
      process.stderr.write(`no model yet: queued job ${job.id}, training the reference autoencoder on Fashion-MNIST\n`);
    }
    process.stderr.write(
      `worker ${WORKER_NAME} on ${engine.backend}, library ${config.dataDir}; queue work with npm run jobs -- add <kind> '<json>'\n`,
    );
    const stop = new AbortController();
    process.once('SIGINT', () => {
      process.stderr.write('\nstopping…\n');
      stop.abort();
    });
    process.once('SIGTERM', () => stop.abort());
    const show = setInterval(
      () => {
        const [running] = listJobs(library.db, { states: ['running'], limit: 1 });
        if (!running) return;
        const p = running.progress;
        const share = p.total ? ` ${Math.floor(((p.done ?? 0) / p.total) * 100)}% (${p.done}/${p.total})` : '';
        const rate = p.imagesPerSec ? ` ${Math.round(p.imagesPerSec)} img/s` : '';
        const eta = p.etaSeconds !== undefined ? ` ETA ${Math.round(p.etaSeconds)} s` : '';
        const loss = p.loss !== undefined ? ` loss ${p.loss.toFixed(5)}` : '';
        const line = `job ${running.id} ${running.kind} ${p.phase ?? ''}${share}${loss}${rate}${eta}`;
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
      });
    } finally {
      clearInterval(show);
    }
  } finally {
    library.close();
  }
});
