/**
 * What the status area and the health check answer: the engine's backend, the number of stored
 * images, the active model with how many images it has embedded, and the latest jobs. Cheap
 * enough to poll every few seconds: the counts (a scan of every row, ~0.1 s at a million images,
 * holding the web process's only thread) are kept until something is committed to the store.
 */
import { countEmbeddings } from '../store/embeddings-repo';
import { changeStamp } from '../store/database';
import { countImages } from '../store/images-repo';
import { listJobs, type Job } from '../store/jobs-repo';
import { activeModel } from '../store/models-repo';
import type { Library } from './library';

export interface LibraryStatus {
  backend: string;
  images: number;
  model: { id: number; name: string; latentSize: number; embedded: number } | null;
  /** Running, queued and recent jobs, newest first (8 at most). */
  jobs: Job[];
}

const counted = new WeakMap<Library, { stamp: string; counts: Map<string, number> }>();

/** `count()` as of the store's last commit: computed again only after something was committed. */
function countSinceLastCommit(library: Library, key: string, count: () => number): number {
  const stamp = changeStamp(library.db);
  let cache = counted.get(library);
  if (!cache || cache.stamp !== stamp) counted.set(library, (cache = { stamp, counts: new Map() }));
  let value = cache.counts.get(key);
  if (value === undefined) cache.counts.set(key, (value = count()));
  return value;
}

/** The status area's answer; `backend` is the engine this process runs on. */
export function libraryStatus(library: Library, backend: string): LibraryStatus {
  const model = activeModel(library.db);
  return {
    backend,
    images: countSinceLastCommit(library, 'images', () => countImages(library.db)),
    model: model
      ? {
          id: model.id,
          name: model.name,
          latentSize: model.latentSize,
          embedded: countSinceLastCommit(library, `embedded:${model.id}`, () => countEmbeddings(library.db, model.id)),
        }
      : null,
    jobs: listJobs(library.db, { limit: 8 }),
  };
}

/** Liveness and readiness: answers while jobs run (they run in the worker process). */
export function libraryHealth(library: Library, backend: string): { ok: true; backend: string; images: number } {
  return { ok: true, backend, images: countSinceLastCommit(library, 'images', () => countImages(library.db)) };
}
