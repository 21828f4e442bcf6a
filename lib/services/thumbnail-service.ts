/**
 * Thumbnails: made once, on first request, from the stored original (WebP), kept on disk by
 * content hash. They are derived files — deleting them only costs a re-render.
 */
import { readFile } from 'node:fs/promises';
import { AppError, isAppError } from '../errors';
import { getImage } from '../store/images-repo';
import { writeFileDurable } from '../durable-file';
import { originalPath, thumbnailPath, type Library } from './library';
import { prepareIsolated } from './decoding';

/** Longest side of a thumbnail, in pixels. */
export const THUMBNAIL_SIZE = 160;
/** Longest side of the preview shown on an image's page (a re-encoded copy, never the raw upload). */
export const PREVIEW_SIZE = 1024;

/** The WebP thumbnail (or, with `size`, a larger preview) of stored image `id`, rendering it the first time. */
export async function thumbnailFor(library: Library, id: number, size = THUMBNAIL_SIZE): Promise<Buffer> {
  const image = getImage(library.db, id);
  if (!image) throw new AppError('not_found', `image ${id} not found`);
  const base = thumbnailPath(library.config, image.contentHash);
  const path = size === THUMBNAIL_SIZE ? base : base.replace(/\.webp$/, `-${size}.webp`);
  const cached = await readFile(path).catch(() => null);
  if (cached) return cached;
  const original = await readFile(originalPath(library.config, image.contentHash)).catch((error: unknown) => {
    throw new AppError('internal', `the original of image ${id} is missing`, { cause: error });
  });
  const prepared = await prepareIsolated(library, original, { target: { height: 1, width: 1, channels: 3 }, thumbnailSize: size });
  // A cache: on a full disk the thumbnail is still served, and made again next time.
  await writeFileDurable(path, prepared.thumbnail!, { durable: false }).catch((error: unknown) => {
    if (!isAppError(error, 'storage_full')) throw error;
  });
  return prepared.thumbnail!;
}
