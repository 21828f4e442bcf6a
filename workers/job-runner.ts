/**
 * npm run worker — the background job runner: runs queued jobs (ingest, train, embed, cluster,
 * map) one at a time until SIGINT/SIGTERM; a job interrupted by shutdown resumes at the next
 * start when its kind allows, and jobs of a worker that was killed are recovered at start-up.
 * With LATENT_ATLAS_REDIS_URL set, ingest and embedding are sent in batches to remote workers.
 *
 * npm run worker -- --remote <app URL> — a remote worker on any machine: takes batches from Redis
 * (LATENT_ATLAS_REDIS_URL), fetches originals and the model from the app with LATENT_ATLAS_TOKEN,
 * returns vectors. It opens no library. See docs/scaling.md.
 */
import { join } from 'node:path';
import { Command } from 'commander';
import { z } from 'zod';
import { parseConfig } from '../lib/config';
import { initEngine } from '../lib/engine/backend';
import { AppError } from '../lib/errors';
import { runJobs, WORKER_NAME } from '../lib/jobs/job-service';
import { runRemoteWorker } from '../lib/jobs/remote/remote-worker';
import { isolatedDecoder } from '../lib/services/decoding';
import { openLibrary } from '../lib/services/library';
import { parseOrThrow } from '../lib/validation';
import { runCli } from '../scripts/cli/run';

const program = new Command('worker')
  .option('--remote <url>', 'be a remote worker of the app at this URL (http:// or https://), taking batches from LATENT_ATLAS_REDIS_URL')
  .option('--concurrency <n>', 'remote: batches processed at once', '1')
  .option('--model <id>', 'remote: refuse batches for any model but this id')
  .option('--lock-seconds <s>', 'remote: a batch whose worker is silent this long is handed to another', '30')
  .option('--cache <dir>', 'remote: where downloaded models are kept (default <LATENT_ATLAS_DATA_DIR>/worker-cache)');

const flags = z.strictObject({
  remote: z
    .string()
    .regex(/^https?:\/\/[^\s]+$/, 'an http:// or https:// URL')
    .optional(),
  concurrency: z.coerce.number().int().min(1).max(64),
  model: z.coerce.number().int().min(1).optional(),
  lockSeconds: z.coerce.number().min(1).max(3600),
  cache: z.string().min(1).optional(),
});

await runCli(async () => {
  program.parse();
  const o = parseOrThrow(flags, program.opts(), 'flags');
  const config = parseConfig();
  const engine = await initEngine(config.backend);
  const stop = new AbortController();
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => stop.abort());
  if (o.remote) {
    if (!config.redisUrl || !config.token)
      throw new AppError('invalid_input', 'a remote worker needs LATENT_ATLAS_REDIS_URL and LATENT_ATLAS_TOKEN (the app’s token)');
    const done = await runRemoteWorker({
      appUrl: o.remote,
      token: config.token,
      redisUrl: config.redisUrl,
      cacheDir: o.cache ?? join(config.dataDir, 'worker-cache'),
      concurrency: o.concurrency,
      lockMs: o.lockSeconds * 1000,
      ...(o.model ? { pinnedModel: o.model } : {}),
      signal: stop.signal,
      log: (line) => process.stderr.write(`${line}\n`),
      decode: isolatedDecoder(config), // staged originals were never decoded: a libvips crash costs one image
    });
    process.stderr.write(`remote worker stopped after ${done.batches} batches (${done.images} images) on ${engine.backend}\n`);
    return;
  }
  const library = openLibrary(config, { check: true });
  process.stderr.write(`job runner ${WORKER_NAME} on ${engine.backend}, library ${config.dataDir}\n`);
  try {
    await runJobs(library, {
      stop: stop.signal,
      onJob: (job) => process.stderr.write(`job ${job.id} (${job.kind}) ${job.state}${job.error ? `: ${job.error}` : ''}\n`),
      onNotice: (line) => process.stderr.write(`${line}\n`),
    });
  } finally {
    library.close();
  }
});
