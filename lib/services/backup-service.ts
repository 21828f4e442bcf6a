/**
 * Backups of a running library, and restores. The database is copied with SQLite's online backup
 * API in one step (one read transaction: a consistent snapshot while the app and the worker keep
 * writing); then the originals of the images in that snapshot (content-addressed and never
 * rewritten, so any later moment's copy is the same file; each checked against its hash), the
 * model folders its rows name, and the thumbnails. The HNSW index files are not copied: they are
 * caches of the database and are rebuilt at the first search. `backup.json`, written last, marks
 * a backup complete; restore refuses a folder without it.
 *
 * Layout of a backup folder: atlas.db, backup.json, originals/<2 hex>/<sha-256>,
 * thumbnails/…, models/<name>/ (model.json, weights.bin).
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { z } from 'zod';
import type { Config } from '../config';
import { syncDirectory, writeFileDurable, writeFileDurableSync } from '../durable-file';
import { AppError } from '../errors';
import { openDatabase, SCHEMA_VERSION } from '../store/database';
import { liveImageHashes } from '../store/images-repo';
import { listModels, setModelDir } from '../store/models-repo';
import { originalPath, type Library } from './library';

export const BACKUP_MANIFEST = 'backup.json';

const manifestSchema = z.object({
  format: z.literal('latent-atlas-backup'),
  formatVersion: z.literal(1),
  createdAt: z.string(),
  schemaVersion: z.number().int(),
  images: z.number().int(),
  originals: z.number().int(),
  thumbnails: z.number().int(),
  /** Registered models: name → folder inside the backup. */
  models: z.record(z.string(), z.string()),
  /** Segmentation models (every folder under models/segmentation/). */
  segmentationModels: z.number().int(),
});
export type BackupManifest = z.infer<typeof manifestSchema>;

export interface BackupReport extends BackupManifest {
  bytes: number;
  seconds: number;
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const isTemp = (name: string) => /\.tmp-\d+/.test(name);

/** Copies one file durably (atomic at the target); returns its size. */
async function copyDurable(from: string, to: string): Promise<number> {
  const bytes = await readFile(from);
  await writeFileDurable(to, bytes);
  return bytes.byteLength;
}

/** Copies the files under `from` (not temp files of writes in progress) to `to`; returns [files, bytes]. */
async function copyTree(from: string, to: string): Promise<[number, number]> {
  const names = await readdir(from, { recursive: true, withFileTypes: true }).catch(() => []);
  let files = 0;
  let bytes = 0;
  for (const entry of names) {
    const rel = relative(from, join(entry.parentPath, entry.name));
    if (!entry.isFile() || rel.split('/').some(isTemp)) continue;
    try {
      bytes += await copyDurable(join(from, rel), join(to, rel));
      files++;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error; // replaced meanwhile: its successor is copied by name
    }
  }
  return [files, bytes];
}

/**
 * A model folder, copied so that model.json and weights.bin belong together: a training run may
 * swap the folder while it is read (lib/models/model-io writes a new one and renames it in), so
 * the copy is repeated until model.json reads the same before and after.
 */
async function copyModelDir(from: string, to: string): Promise<number> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const before = await readFile(join(from, 'model.json'));
    const [, bytes] = await copyTree(from, to);
    const after = await readFile(join(from, 'model.json'));
    if (before.equals(after)) return bytes;
  }
  throw new AppError('conflict', `model ${basename(from)} kept changing while it was copied; try the backup again`);
}

/**
 * Backs up `library` into `dest` (a new or empty folder) while it runs.
 *
 * @example await backupLibrary(openLibrary(parseConfig()), '/mnt/backups/atlas-2026-12-03')
 */
export async function backupLibrary(library: Library, dest: string): Promise<BackupReport> {
  const started = performance.now();
  const entries = await readdir(dest).catch(() => [] as string[]);
  if (entries.length) throw new AppError('conflict', `the backup folder ${basename(dest)} is not empty; choose a new folder`);
  await mkdir(dest, { recursive: true });
  const dbCopy = join(dest, 'atlas.db');
  // One step (as many pages as there are): a single read transaction, so a consistent snapshot
  // however busy the writers are; a step-by-step copy would restart at every write.
  await library.db.backup(dbCopy, { progress: () => 0x7fffffff });
  const snapshot = openDatabase(dbCopy);
  let bytes = 0;
  try {
    const images = liveImageHashes(snapshot);
    for (const { contentHash } of images) {
      const original = await readFile(originalPath(library.config, contentHash)).catch((error: unknown) => {
        throw new AppError('damaged', `the original of image ${contentHash.slice(0, 12)}… is missing`, { cause: error });
      });
      if (sha256(original) !== contentHash)
        throw new AppError('damaged', `the original of image ${contentHash.slice(0, 12)}… does not match its hash (a damaged file)`);
      await writeFileDurable(join(dest, relative(library.config.dataDir, originalPath(library.config, contentHash))), original);
      bytes += original.byteLength;
    }
    const models: Record<string, string> = {};
    for (const model of listModels(snapshot)) {
      models[model.name] = join('models', model.name);
      bytes += await copyModelDir(model.dir, join(dest, 'models', model.name));
    }
    const segmentationDir = join(library.config.modelsDir, 'segmentation');
    let segmentationModels = 0;
    for (const entry of await readdir(segmentationDir, { withFileTypes: true }).catch(() => [])) {
      if (!entry.isDirectory() || isTemp(entry.name) || !existsSync(join(segmentationDir, entry.name, 'model.json'))) continue;
      bytes += await copyModelDir(join(segmentationDir, entry.name), join(dest, 'models', 'segmentation', entry.name));
      segmentationModels++;
    }
    const [thumbnails, thumbnailBytes] = await copyTree(library.config.thumbnailsDir, join(dest, 'thumbnails'));
    bytes += thumbnailBytes;
    snapshot.pragma('wal_checkpoint(TRUNCATE)');
    const manifest: BackupManifest = {
      format: 'latent-atlas-backup',
      formatVersion: 1,
      createdAt: new Date().toISOString(),
      schemaVersion: SCHEMA_VERSION,
      images: images.length,
      originals: images.length,
      thumbnails,
      models,
      segmentationModels,
    };
    snapshot.close();
    await syncDirectory(dest);
    await writeFileDurable(join(dest, BACKUP_MANIFEST), JSON.stringify(manifest, null, 2));
    return { ...manifest, bytes, seconds: Math.round((performance.now() - started) / 100) / 10 };
  } finally {
    if (snapshot.open) snapshot.close();
  }
}

export interface RestoreReport {
  images: number;
  models: number;
  segmentationModels: number;
  thumbnails: number;
  seconds: number;
}

/** Reads and checks a backup's manifest. */
export async function readBackupManifest(dir: string): Promise<BackupManifest> {
  let text: string;
  try {
    text = await readFile(join(dir, BACKUP_MANIFEST), 'utf8');
  } catch (error) {
    throw new AppError('invalid_input', `${basename(dir)} is not a complete backup (${BACKUP_MANIFEST} is missing)`, { cause: error });
  }
  const parsed = manifestSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new AppError('invalid_input', `${BACKUP_MANIFEST} is not a Latent Atlas backup manifest`);
  if (parsed.data.schemaVersion > SCHEMA_VERSION)
    throw new AppError('unsupported', `the backup's database (schema ${parsed.data.schemaVersion}) is newer than this Latent Atlas`);
  return parsed.data;
}

/**
 * Restores the backup in `from` as the library of `config` (whose data folder must not hold a
 * database: a library is never overwritten). Every original is checked against its hash and the
 * database with integrity_check before anything is written; the database is put in place last, so
 * an interrupted restore leaves no library that looks complete.
 */
export async function restoreLibrary(config: Readonly<Config>, from: string): Promise<RestoreReport> {
  const started = performance.now();
  const manifest = await readBackupManifest(from);
  if (existsSync(config.dbPath))
    throw new AppError(
      'conflict',
      'the data folder already holds a library (atlas.db); it is never overwritten: move it aside (or set LATENT_ATLAS_DATA_DIR to a new folder) and restore again',
    );
  const source = openDatabase(join(from, 'atlas.db'));
  let images: { contentHash: string }[];
  try {
    const integrity = source.pragma('integrity_check', { simple: true });
    if (integrity !== 'ok') throw new AppError('damaged', `the backup's database is damaged: ${String(integrity).slice(0, 200)}`);
    images = liveImageHashes(source);
  } finally {
    source.close();
  }
  for (const { contentHash } of images) {
    const rel = relative(config.dataDir, originalPath(config, contentHash));
    const bytes = await readFile(join(from, rel)).catch((error: unknown) => {
      throw new AppError('damaged', `the backup lacks the original of image ${contentHash.slice(0, 12)}…`, { cause: error });
    });
    if (sha256(bytes) !== contentHash) throw new AppError('damaged', `the backup's original ${contentHash.slice(0, 12)}… is damaged`);
    await writeFileDurable(originalPath(config, contentHash), bytes);
  }
  for (const [name, dir] of Object.entries(manifest.models)) await copyTree(join(from, dir), join(config.modelsDir, name));
  await copyTree(join(from, 'models', 'segmentation'), join(config.modelsDir, 'segmentation'));
  const [thumbnails] = await copyTree(join(from, 'thumbnails'), config.thumbnailsDir);
  // The database last, atomically: copied to a temp name, its model rows pointed at the restored
  // folders, checkpointed into one file, then renamed in (lib/durable-file).
  writeFileDurableSync(config.dbPath, (tmp) => {
    copyFileSync(join(from, 'atlas.db'), tmp);
    const db = openDatabase(tmp);
    try {
      for (const model of listModels(db)) if (manifest.models[model.name]) setModelDir(db, model.id, join(config.modelsDir, model.name));
      db.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      db.close();
    }
  });
  return {
    images: images.length,
    models: Object.keys(manifest.models).length,
    segmentationModels: manifest.segmentationModels,
    thumbnails,
    seconds: Math.round((performance.now() - started) / 100) / 10,
  };
}
