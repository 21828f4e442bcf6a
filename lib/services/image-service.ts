/**
 * Stored images as the web app and the CLI see them: a page of the library with the labels in
 * use, one image by id (AppError('not_found') otherwise), its labels replaced, its original bytes
 * for download, and deletion. The routes reach the images table only through here.
 */
import { readFile } from 'node:fs/promises';
import { AppError } from '../errors';
import { clearPreamble } from '../images/dicom';
import { getImage, labelCounts, listImages, setImageLabels, type ImageQuery, type ImageRecord } from '../store/images-repo';
import { originalPath, type Library } from './library';
import { deleteImages } from './model-service';

export { MODALITIES, type ImageQuery, type ImageRecord, type Modality } from '../store/images-repo';

/** A page of the library (`nextCursor`: the `before` of the next page) with every label in use, most used first. */
export type LibraryPage = ReturnType<typeof listImages> & { labels: { label: string; count: number }[] };

/** A page of live images (newest first, by keyset) matching `query`, with the labels in use. */
export function libraryPage(library: Library, query: ImageQuery): LibraryPage {
  return { ...listImages(library.db, query), labels: labelCounts(library.db) };
}

/** Stored image `id`; AppError('not_found') when there is none (or it was deleted). */
export function imageOrThrow(library: Library, id: number): ImageRecord {
  const image = getImage(library.db, id);
  if (!image) throw new AppError('not_found', `image ${id} not found`);
  return image;
}

/** Replaces the labels of image `id` (duplicates dropped, order kept); returns the updated image. */
export function relabelImage(library: Library, id: number, labels: readonly string[]): ImageRecord {
  imageOrThrow(library, id);
  setImageLabels(library.db, id, [...new Set(labels)]);
  return imageOrThrow(library, id);
}

/** Adds `label` to image `id` unless it carries it already. */
export function addImageLabel(library: Library, id: number, label: string): void {
  const labels = getImage(library.db, id)?.labels ?? [];
  if (!labels.includes(label)) setImageLabels(library.db, id, [...labels, label]);
}

/** Deletes image `id` (AppError('not_found') when there is none): its row, vectors and index entries. */
export function deleteImage(library: Library, id: number): void {
  imageOrThrow(library, id);
  deleteImages(library, [id]);
}

/** The original bytes of image `id` as stored; a DICOM file's free-form preamble comes back zeroed. */
/**
 * The stored original with this content hash, as remote workers fetch it (staged for an ingest,
 * or of a stored image being re-embedded); AppError('not_found') when there is none.
 */
export async function originalByHash(library: Library, hash: string): Promise<Uint8Array> {
  if (!/^[0-9a-f]{64}$/.test(hash)) throw new AppError('not_found', 'no original with that hash');
  return readFile(originalPath(library.config, hash)).catch((error: unknown) => {
    throw new AppError('not_found', `no original with hash ${hash.slice(0, 12)}…`, { cause: error });
  });
}

export async function originalBytes(library: Library, id: number): Promise<{ image: ImageRecord; bytes: Uint8Array<ArrayBuffer> }> {
  const image = imageOrThrow(library, id);
  const bytes = await readFile(originalPath(library.config, image.contentHash)).catch((error: unknown) => {
    throw new AppError('internal', `the original of image ${image.id} is missing`, { cause: error });
  });
  return { image, bytes: image.format === 'dicom' ? clearPreamble(bytes) : new Uint8Array(bytes) };
}
