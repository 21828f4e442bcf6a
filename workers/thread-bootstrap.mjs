// Entry of every worker thread: registers the TypeScript loader (tsx) in this thread, then loads
// the TypeScript entry named in workerData.entry. Node 20 does not pass --import hooks to workers.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
