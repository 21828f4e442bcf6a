/**
 * The library's counts (live images, images embedded under a model) as of the store's last
 * commit. Each is a scan of every row (~0.1 s at a million images, on the web process's only
 * thread) and the status area polls them every few seconds from every open page: they are computed
 * again only after something was committed, here or in another process (`changeStamp`).
 */
import { changeStamp } from '../store/database';
import { countEmbeddings } from '../store/embeddings-repo';
import { countImages } from '../store/images-repo';
import type { Library } from './library';

const counted = new WeakMap<Library, { stamp: string; counts: Map<string, number> }>();

function sinceLastCommit(library: Library, key: string, count: () => number): number {
  const stamp = changeStamp(library.db);
  let cache = counted.get(library);
  if (!cache || cache.stamp !== stamp) counted.set(library, (cache = { stamp, counts: new Map() }));
  let value = cache.counts.get(key);
  if (value === undefined) cache.counts.set(key, (value = count()));
  return value;
}

/** Live (not deleted) images. */
export function liveImageCount(library: Library): number {
  return sinceLastCommit(library, 'images', () => countImages(library.db));
}

/** Live images with a vector under `modelId`. */
export function embeddedCount(library: Library, modelId: number): number {
  return sinceLastCommit(library, `embedded:${modelId}`, () => countEmbeddings(library.db, modelId));
}
