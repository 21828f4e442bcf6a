/**
 * A folder of image files as an ImageSet for training: every regular file in the folder (and
 * its sub-folders) is sniffed and decoded; files that are not accepted images are skipped and
 * reported, never silently dropped.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { AppError } from '../errors';
import { preprocessImage, type PreprocessTarget } from '../images/image-decoder';
import type { ImageSet } from './image-set';

export interface FolderLoad { set: ImageSet; files: string[]; skipped: { file: string; reason: string }[] }

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && !e.name.startsWith('.'))
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

/** Decodes every image under `dir` to `target`; `onFile` reports progress. */
export async function loadImageFolder(dir: string, target: PreprocessTarget,
  options: { limit?: number; onFile?: (done: number, total: number) => void } = {}): Promise<FolderLoad> {
  let files: string[];
  try {
    files = await listFiles(dir);
  } catch (error) {
    throw new AppError('not_found', `cannot read folder ${dir}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`, { cause: error });
  }
  if (options.limit) files = files.slice(0, options.limit);
  const size = target.height * target.width * target.channels;
  const pixels = new Uint8Array(files.length * size);
  const kept: string[] = [];
  const skipped: FolderLoad['skipped'] = [];
  for (const [i, file] of files.entries()) {
    try {
      const image = await preprocessImage(await readFile(file), target);
      pixels.set(image.pixels, kept.length * size);
      kept.push(relative(dir, file));
    } catch (error) {
      skipped.push({ file: relative(dir, file), reason: (error as Error).message });
    }
    options.onFile?.(i + 1, files.length);
  }
  if (kept.length === 0) throw new AppError('invalid_input', `no usable images in ${dir} (${skipped.length} files refused)`);
  return {
    set: { pixels: pixels.subarray(0, kept.length * size), count: kept.length, height: target.height, width: target.width, channels: target.channels },
    files: kept,
    skipped,
  };
}
