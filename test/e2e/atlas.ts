/**
 * Starts the real app (scripts/start.ts: the built Next.js server + the job worker) on a fresh
 * data directory and a free loopback port, and stops it after the suite.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestInfo } from '@playwright/test';

export interface Atlas {
  baseURL: string;
  /** The app's process (scripts/start.ts: the job worker, parent of the web server). */
  pid: number;
  dataDir: string;
  log: () => string;
  stop: () => Promise<void>;
}

/** A port nothing listens on now (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** Starts the app; `prepare` may fill the fresh data directory first (a model, images, or a library made fast by a test helper). */
export async function startAtlas(env: Record<string, string> = {}, prepare?: (dataDir: string) => void | Promise<void>): Promise<Atlas> {
  const dataDir = await mkdtemp(join(tmpdir(), 'atlas-e2e-'));
  await prepare?.(dataDir);
  const port = await freePort();
  let output = '';
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
    env: { ...process.env, LATENT_ATLAS_DATA_DIR: dataDir, LATENT_ATLAS_PORT: String(port), LATENT_ATLAS_HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const baseURL = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the app exited (${child.exitCode}):\n${output}`);
    const ok = await fetch(`${baseURL}/api/health`, {
      headers: env.LATENT_ATLAS_TOKEN ? { Authorization: `Bearer ${env.LATENT_ATLAS_TOKEN}` } : {},
    }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`the app did not answer within 120 s:\n${output}`);
    await new Promise((r) => setTimeout(r, 300));
  }
  return {
    baseURL,
    pid: child.pid!,
    dataDir,
    log: () => output,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGINT');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * After a failed test, the app's log goes with the report (attached, and its tail printed), so a
 * failure that does not come back on a re-run still leaves its cause on record. For `test.afterEach`.
 */
export async function keepLogOnFailure(atlas: Atlas | undefined, testInfo: TestInfo): Promise<void> {
  if (!atlas || testInfo.status === testInfo.expectedStatus) return;
  const log = atlas.log();
  await testInfo.attach('app log', { body: log, contentType: 'text/plain' });
  console.error(`--- ${testInfo.title}: the app's log, last 6,000 characters ---\n${log.slice(-6000)}`);
}
