/**
 * What the status area and the health check answer: the engine's backend, the number of stored
 * images, the active model with how many images it has embedded, and the latest jobs. Cheap
 * enough to poll every few seconds: the counts are kept until something is committed
 * (library-counts.ts), the rest is one small query each.
 */
import { listJobs, type Job } from '../store/jobs-repo';
import { activeModel } from '../store/models-repo';
import type { Library } from './library';
import { embeddedCount, liveImageCount } from './library-counts';

export interface LibraryStatus {
  backend: string;
  images: number;
  model: { id: number; name: string; latentSize: number; embedded: number } | null;
  /** Running, queued and recent jobs, newest first (8 at most). */
  jobs: Job[];
}

/** The status area's answer; `backend` is the engine this process runs on. */
export function libraryStatus(library: Library, backend: string): LibraryStatus {
  const model = activeModel(library.db);
  return {
    backend,
    images: liveImageCount(library),
    model: model
      ? {
          id: model.id,
          name: model.name,
          latentSize: model.latentSize,
          embedded: embeddedCount(library, model.id),
        }
      : null,
    jobs: listJobs(library.db, { limit: 8 }),
  };
}

/** Liveness and readiness: answers while jobs run (they run in the worker process). */
export function libraryHealth(library: Library, backend: string): { ok: true; backend: string; images: number } {
  return { ok: true, backend, images: liveImageCount(library) };
}
