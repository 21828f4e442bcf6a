/**
 * npm run jobs -- add <kind> ['<params as JSON>'] [--watch]   queue a job (kinds: ingest, train, embed, cluster, map)
 * npm run jobs -- list | show <id> | watch <id> | cancel <id>
 * The worker (npm run worker) runs them; `watch` shows the progress as a bar until the job ends.
 */
import { Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { z } from 'zod';
import { parseConfig } from '../lib/config';
import { AppError } from '../lib/errors';
import { cancelJob, jobOrThrow, queueJob, recentJobs, type Job } from '../lib/jobs/job-service';
import { openLibrary, type Library } from '../lib/services/library';
import { runCli } from './cli/run';

const id = z.coerce.number().int().min(1);

function summary(job: Job) {
  return {
    id: job.id,
    kind: job.kind,
    state: job.state,
    progress: job.progress,
    attempts: job.attempts,
    error: job.error,
    result: job.result,
  };
}

async function watch(library: Library, jobId: number): Promise<Job> {
  const bar = new SingleBar(
    { format: `job ${jobId} {state} |{bar}| {value}/{total} {phase} | {rate} | ETA {eta_formatted}` },
    Presets.shades_classic,
  );
  let started = false;
  for (;;) {
    const job = jobOrThrow(library, jobId);
    const p = job.progress;
    const payload = { state: job.state, phase: p.phase ?? '', rate: p.imagesPerSec ? `${Math.round(p.imagesPerSec)} img/s` : '' };
    if (process.stderr.isTTY && p.total) {
      if (!started) {
        bar.start(p.total, p.done ?? 0, payload);
        started = true;
      }
      bar.setTotal(p.total);
      bar.update(p.done ?? 0, payload);
    }
    if (job.state !== 'queued' && job.state !== 'running') {
      bar.stop();
      return job;
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

function withLibrary(run: (library: Library) => Promise<void>): Promise<void> {
  const library = openLibrary(parseConfig());
  return run(library).finally(() => library.close());
}

const program = new Command('jobs');
program
  .command('add')
  .argument('<kind>')
  .argument('[params]', 'parameters as JSON', '{}')
  .option('--watch', 'follow its progress until it ends')
  .action((kind: string, params: string, o: { watch?: boolean }) =>
    withLibrary(async (library) => {
      let parsed: unknown;
      try {
        parsed = JSON.parse(params);
      } catch {
        throw new AppError('invalid_input', `job parameters must be JSON; got ${params}`);
      }
      const job = queueJob(library, kind, parsed);
      console.log(JSON.stringify(summary(o.watch ? await watch(library, job.id) : job)));
    }),
  );
program.command('list').action(() =>
  withLibrary(async (library) => {
    for (const job of recentJobs(library)) console.log(JSON.stringify(summary(job)));
  }),
);
program
  .command('show')
  .argument('<id>')
  .action((jobId: string) =>
    withLibrary(async (library) => {
      console.log(JSON.stringify(summary(jobOrThrow(library, id.parse(jobId)))));
    }),
  );
program
  .command('watch')
  .argument('<id>')
  .action((jobId: string) =>
    withLibrary(async (library) => {
      console.log(JSON.stringify(summary(await watch(library, id.parse(jobId)))));
    }),
  );
program
  .command('cancel')
  .argument('<id>')
  .action((jobId: string) =>
    withLibrary(async (library) => {
      console.log(JSON.stringify(summary(cancelJob(library, id.parse(jobId)))));
    }),
  );

await runCli(async () => {
  await program.parseAsync();
});
