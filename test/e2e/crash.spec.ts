/**
 * A short crash loop (issue 7): the built app is killed with SIGKILL at random moments while
 * uploads, deletes and background work run, then restarted; after every kill the store, the
 * originals, the index and the job queue must be intact (test/crash/crash-loop.ts has the checks).
 * `npm run bench:crash` runs the same loop for as many cycles as asked.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect, test } from '@playwright/test';

test('six kill -9 cycles during uploads, deletes and jobs lose nothing', async () => {
  test.setTimeout(480_000);
  const { stdout, stderr } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', 'scripts/bench-crash.ts', '--cycles', '6', '--max-run', '6', '--seed', '3'],
    { timeout: 450_000, maxBuffer: 16 * 1024 * 1024 },
  ).catch((error: { stdout?: string; stderr?: string; message: string }) => {
    throw new Error(`the crash loop failed: ${error.message}\n${error.stdout ?? ''}\n${error.stderr ?? ''}`);
  });
  const report = JSON.parse(stdout.trim().split('\n').at(-1)!);
  test.info().annotations.push({
    type: 'crash loop',
    description: stderr
      .split('\n')
      .filter((l) => l.startsWith('cycle'))
      .join('\n'),
  });
  expect(report.violations).toEqual([]);
  expect(report.survived).toBe(6);
  // The loop did its work. How much depends on the machine's load (300+ alone, 47 on 2 cores shared
  // with a training run, 9 under a load average of 15), so only "some" is asserted; the checks above
  // are what must hold.
  expect(report.acknowledgedUploads).toBeGreaterThan(0);
  expect(report.acknowledgedDeletes).toBeGreaterThan(0);
  expect(report.tempFiles).toEqual([]);
  expect(report.searches).toBeGreaterThan(0);
});
