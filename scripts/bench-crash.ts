/**
 * npm run bench:crash -- [--cycles 100] [--max-run 8] [--seed 1] — the long crash loop (issue 7):
 * the built app on a fresh library, kept busy with uploads, deletes, ingest, training, clustering
 * and model switches, killed with SIGKILL at random moments; after every kill the store, the
 * originals, the index and the job queue are checked (test/crash/crash-loop.ts says what). One line
 * per cycle on stderr, then one JSON line: cycles run and survived, what was interrupted, counts.
 * CI runs a short loop as an e2e test (test/e2e/crash.spec.ts). Needs `npm run build` first.
 */
import { Command } from 'commander';
import { crashLoop } from '../test/crash/crash-loop';
import { runCli, wholeFlag } from './cli/run';

const program = new Command('bench:crash')
  .option('--cycles <n>', 'kill/restart cycles', wholeFlag('--cycles'), 100)
  .option('--max-run <s>', 'longest run before a kill, in seconds', wholeFlag('--max-run'), 8)
  .option('--seed <n>', 'seed of the kill moments and the work', wholeFlag('--seed'), 1);

await runCli(async () => {
  program.parse();
  const o = program.opts<{ cycles: number; maxRun: number; seed: number }>();
  const report = await crashLoop({
    cycles: o.cycles,
    maxRunSeconds: o.maxRun,
    seed: o.seed,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(`${JSON.stringify(report)}\n`);
  if (report.violations.length) process.exitCode = 1;
});
