/**
 * Durable, atomic file writes — the one implementation every writer uses (originals, thumbnails,
 * index files, model directories, saved comparisons): write a temp file beside the target, fsync
 * it, rename it over the target, fsync the folder. A reader sees the old file or the new one,
 * never half of one, and after the call returns a power cut cannot undo the rename.
 *
 * Temp files are named `.<name>.tmp-<pid>-<random>` in the target's folder (same file system, so
 * the rename is atomic); `removeOrphanedTempFiles` recognises the `.tmp-<pid>` part and removes
 * those of processes that no longer run.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { AppError, isAppError } from './errors';

export interface DurableWriteOptions {
  /**
   * fsync the file and its folder. Default true. false for files derived from others (thumbnails)
   * that are cheaper to rebuild after a crash than to fsync on every write; the write is still
   * atomic.
   */
  durable?: boolean;
}

/** The temp name for a write of `path`: hidden, in the same folder, tagged with this process. */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 10)}`);
}

/** What a write answers when the disk, or the user's quota, is full (SQLITE_FULL: SQLite's word for it). */
const DISK_FULL = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL']);

/**
 * `error` as AppError('storage_full') when it says the disk is full (HTTP 507, a message that says
 * what to do), else unchanged. Every writer's failure passes through it, so a full disk reads the
 * same wherever it strikes.
 */
export function asStorageError(error: unknown): unknown {
  if (isAppError(error) || !DISK_FULL.has((error as NodeJS.ErrnoException | null)?.code ?? '')) return error;
  return new AppError('storage_full', 'the disk is full: nothing was stored; free some space and try again', { cause: error });
}

/** Platforms where a folder cannot be opened for fsync (Windows) answer with one of these. */
const NO_DIRECTORY_FSYNC = new Set(['EISDIR', 'EPERM', 'EACCES', 'EINVAL']);

/** fsyncs a folder, so that renames and new entries in it survive a power cut. */
export async function syncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (error) {
    if (!NO_DIRECTORY_FSYNC.has((error as NodeJS.ErrnoException).code ?? '')) throw error;
  } finally {
    await handle?.close();
  }
}

/** Synchronous syncDirectory, for the synchronous writers. */
export function syncDirectorySync(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch (error) {
    if (!NO_DIRECTORY_FSYNC.has((error as NodeJS.ErrnoException).code ?? '')) throw error;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Writes `data` to `path` (created or truncated) and fsyncs it; no rename: for files inside a temp folder. */
export async function writeSyncedFile(path: string, data: Uint8Array | string): Promise<void> {
  try {
    const handle = await open(path, 'w');
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch (error) {
    throw asStorageError(error);
  }
}

/**
 * Replaces `path` with `data` atomically and durably (see the header); creates the folder.
 *
 * @example await writeFileDurable(join(dir, 'result.json'), JSON.stringify(result));
 */
export async function writeFileDurable(path: string, data: Uint8Array | string, options: DurableWriteOptions = {}): Promise<void> {
  const durable = options.durable !== false;
  const tmp = tempPathFor(path);
  try {
    await mkdir(dirname(path), { recursive: true });
    const handle = await open(tmp, 'w');
    try {
      await handle.writeFile(data);
      if (durable) await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { force: true });
    throw asStorageError(error);
  }
  if (durable) await syncDirectory(dirname(path));
}

/**
 * Synchronous writeFileDurable for writers that can only write to a path themselves (hnswlib's
 * `writeIndexSync`): `write(tmp)` fills the temp file, which is then fsynced and renamed.
 */
export function writeFileDurableSync(path: string, write: (tmp: string) => void): void {
  const tmp = tempPathFor(path);
  try {
    mkdirSync(dirname(path), { recursive: true });
    write(tmp);
    const fd = openSync(tmp, 'r+');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (error) {
    rmSync(tmp, { force: true });
    throw asStorageError(error);
  }
  syncDirectorySync(dirname(path));
}
