/**
 * A Latent Atlas library on disk: the SQLite store, originals and thumbnails by content hash,
 * models and their HNSW indexes — opened once from the configuration, closed when done.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../config';
import { recoverModelWrites } from '../models/model-io';
import { processRunningSince } from '../processes';
import { damagedDatabase, openDatabase, type Db } from '../store/database';

export interface Library {
  config: Readonly<Config>;
  db: Db;
  close(): void;
}

/**
 * Opens the library. A damaged database is reported, never recreated (see openDatabase); so is a
 * missing one beside stored originals — a fresh empty database there would silently orphan them.
 */
export function openLibrary(config: Readonly<Config>): Library {
  const orphaned =
    !existsSync(config.dbPath) &&
    existsSync(config.originalsDir) &&
    readdirSync(config.originalsDir, { withFileTypes: true }).some((e) => e.isDirectory());
  if (orphaned) throw damagedDatabase('the file is missing, but originals/ holds images');
  const db = openDatabase(config.dbPath);
  return { config, db, close: () => db.close() };
}

/** Server-made path of an original: <originals>/<2 hex>/<sha-256>. Nothing a user sent is in it. */
export function originalPath(config: Readonly<Config>, contentHash: string): string {
  if (!/^[0-9a-f]{64}$/.test(contentHash)) throw new Error('content hash must be 64 hex characters');
  return join(config.originalsDir, contentHash.slice(0, 2), contentHash);
}

export function thumbnailPath(config: Readonly<Config>, contentHash: string): string {
  if (!/^[0-9a-f]{64}$/.test(contentHash)) throw new Error('content hash must be 64 hex characters');
  return join(config.thumbnailsDir, contentHash.slice(0, 2), `${contentHash}.webp`);
}

/**
 * Cleans up after writers killed before their rename: model directories (and training
 * checkpoints) caught mid-swap are restored (see recoverModelWrites), and the temp files of atomic
 * writes (originals, thumbnails, index files: `.<name>.tmp-<pid>…` of processes that no longer
 * run) are removed. Returns how many entries were removed or restored.
 */
export async function removeOrphanedTempFiles(config: Readonly<Config>): Promise<number> {
  let removed = 0;
  for (const dir of [config.modelsDir, join(config.modelsDir, 'segmentation')]) {
    const recovered = await recoverModelWrites(dir, writerRunning);
    removed += recovered.removed + recovered.restored.length;
  }
  for (const dir of [config.originalsDir, config.thumbnailsDir, config.indexDir]) {
    const names = await readdir(dir, { recursive: true, encoding: 'utf8' }).catch(() => [] as string[]);
    for (const name of names) {
      const pid = /\.tmp-(\d+)/.exec(name)?.[1];
      if (pid && !writerRunning(Number(pid), join(dir, name))) {
        await rm(join(dir, name), { force: true });
        removed++;
      }
    }
  }
  return removed;
}

/**
 * Whether the process that named a temp file after its pid can still be writing it: it runs, and
 * (where /proc says when it started) it started before the file was last written — a killed
 * writer's pid is soon reused by another process or thread.
 */
function writerRunning(pid: number, path: string): boolean {
  try {
    return processRunningSince(pid, statSync(path).mtimeMs);
  } catch {
    return true; // already gone
  }
}
