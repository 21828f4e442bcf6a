/**
 * Entry of a decoder child process, started by lib/images/decoder-pool.ts (never by hand): a thin
 * door into lib/images/decoder-process.ts.
 */
import { serveDecodeRequests } from '../lib/images/decoder-process';

serveDecodeRequests();
