/**
 * npm run worker — the background job runner: runs queued jobs (ingest, train, embed, cluster,
 * map) one at a time until SIGINT/SIGTERM; a job interrupted by shutdown resumes at the next
 * start when its kind allows, and jobs of a worker that was killed are recovered at start-up.
 */
import { parseConfig } from '../lib/config';
import { initEngine } from '../lib/engine/backend';
import { runJobs, WORKER_NAME } from '../lib/jobs/job-service';
import { openLibrary } from '../lib/services/library';

const config = parseConfig();
const engine = await initEngine(config.backend);
const library = openLibrary(config, { check: true });
const stop = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => stop.abort());
process.stderr.write(`job runner ${WORKER_NAME} on ${engine.backend}, library ${config.dataDir}\n`);
try {
  await runJobs(library, {
    stop: stop.signal,
    onJob: (job) => process.stderr.write(`job ${job.id} (${job.kind}) ${job.state}${job.error ? `: ${job.error}` : ''}\n`),
  });
} finally {
  library.close();
}
