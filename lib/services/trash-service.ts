/**
 * Deleting with an undo: a review's deletions move images to the trash (one job, in batches, with
 * progress and cancellation), from where they can be restored — by the job that moved them, or
 * all — until the trash is emptied, which removes their rows and their files for good.
 */
import { rm } from 'node:fs/promises';
import { AppError } from '../errors';
import { countTrash, emptyTrash, listTrash, restoreTrash, trashImages, type TrashedImage } from '../store/trash-repo';
import { originalPath, thumbnailPath, type Library } from './library';

export type { TrashedImage } from '../store/trash-repo';

/** Images moved per transaction: small enough that a web request never waits long on the write lock. */
const TRASH_BATCH = 25;

/**
 * Moves `ids` to the trash in batches (progress after each; cancellation between them keeps what
 * was moved, restorable). Returns the number moved; images already gone are skipped.
 */
export async function moveToTrash(
  library: Library,
  ids: readonly number[],
  options: { jobId?: number; signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {},
): Promise<{ trashed: number }> {
  let trashed = 0;
  for (let start = 0; start < ids.length; start += TRASH_BATCH) {
    if (options.signal?.aborted)
      throw new AppError('cancelled', `deleting was cancelled after ${trashed} of ${ids.length} images (those are in the trash)`);
    trashed += trashImages(library.db, ids.slice(start, start + TRASH_BATCH), options.jobId ?? null).length;
    options.onProgress?.(Math.min(ids.length, start + TRASH_BATCH), ids.length);
    await new Promise((resolve) => setImmediate(resolve)); // the event loop (heartbeat, cancel) between batches
  }
  return { trashed };
}

export interface TrashContents {
  total: number;
  images: TrashedImage[];
}

/** What is in the trash (the newest `limit`, and how many in all). */
export function trashContents(library: Library, limit = 200): TrashContents {
  return { total: countTrash(library.db), images: listTrash(library.db, { limit }) };
}

/**
 * Restores from the trash what job `jobId` moved there, or every trashed image. Each comes back
 * under a new id (indexes never take a deleted id back) with its labels and vectors.
 */
export function restoreFromTrash(library: Library, select: { jobId?: number }): { restored: { from: number; to: number }[] } {
  const ids = select.jobId === undefined ? listTrash(library.db, { limit: 1_000_000 }).map((t) => t.image.id) : undefined;
  return { restored: restoreTrash(library.db, ids ? { ids } : { jobId: select.jobId! }) };
}

/** Empties the trash: rows and saved vectors, then the originals and thumbnails on disk. */
export async function emptyTheTrash(library: Library): Promise<{ removed: number }> {
  const hashes = emptyTrash(library.db);
  // Files after the commit: a crash in between leaves unreferenced files, never rows without files.
  for (const hash of hashes) {
    await rm(originalPath(library.config, hash), { force: true });
    await rm(thumbnailPath(library.config, hash), { force: true });
  }
  return { removed: hashes.length };
}
