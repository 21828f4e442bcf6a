/**
 * Backups (issue 18, item 6): a backup taken while a folder ingest commits batches restores to a
 * library that passes the crash loop's consistency checks and answers searches; a damaged or
 * missing database is reported with the way to restore and never overwritten or recreated; a
 * restore never overwrites a library.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync, closeSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { parseConfig } from '../../lib/config';
import { isAppError } from '../../lib/errors';
import { backupLibrary, restoreLibrary, type BackupReport } from '../../lib/services/backup-service';
import { embedMissing, ingestFolder } from '../../lib/services/ingest-service';
import { openLibrary, type Library } from '../../lib/services/library';
import { searchSimilar } from '../../lib/services/search-service';
import { activeModel } from '../../lib/store/models-repo';
import { checkLibrary } from '../helpers/consistency';
import { startWasm } from '../helpers/engine';
import { expectAppError } from '../helpers/errors';
import { fashionFolder, tempLibrary } from '../helpers/library';

const temp: string[] = [];
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temp.push(dir);
  return dir;
};
let library: Library;
let folder: string;
let backup: BackupReport;
let backupDir: string;
let ingestedAtEnd: number;

beforeAll(async () => {
  await startWasm();
  const made = await tempLibrary(8);
  library = made.library;
  temp.push(made.dataDir);
  folder = await fashionFolder(400);
  temp.push(folder);
  backupDir = join(tempDir('atlas-backup-'), 'backup');
  // The backup runs on its own connection (as `npm run backup` beside the app would) once the
  // ingest has committed a few batches, and the ingest goes on while it copies.
  const backupConnection = openLibrary(library.config);
  let started: Promise<BackupReport> | null = null;
  const ingest = ingestFolder(library, folder, {
    batchSize: 16,
    onProgress: (p) => {
      if (p.added >= 48 && !started) started = backupLibrary(backupConnection, backupDir);
    },
  });
  const report = await ingest;
  ingestedAtEnd = report.added;
  expect(started).not.toBeNull();
  backup = await started!;
  backupConnection.close();
});
afterAll(() => {
  library.close();
  for (const dir of temp) rmSync(dir, { recursive: true, force: true });
});

it('a backup taken during an ingest restores to a consistent library that answers searches', async () => {
  expect(backup.images).toBeGreaterThanOrEqual(48);
  expect(backup.images).toBeLessThanOrEqual(ingestedAtEnd);
  expect(Object.keys(backup.models)).toEqual(['conv-8']);
  const config = parseConfig({ LATENT_ATLAS_DATA_DIR: join(tempDir('atlas-restored-'), 'data'), LATENT_ATLAS_WORKERS: '1' });
  const restored = await restoreLibrary(config, backupDir);
  expect(restored.images).toBe(backup.images);
  const copy = openLibrary(config);
  try {
    expect(activeModel(copy.db)!.dir).toBe(join(config.modelsDir, 'conv-8'));
    // Caught mid-ingest: images stored before their batch's vectors are embedded by the catch-up, as after a crash.
    await embedMissing(copy);
    const checked = checkLibrary(copy);
    expect(checked.violations).toEqual([]);
    expect(checked.unembedded).toBe(0);
    expect(checked.stored.size).toBe(backup.images);
    const [first] = checked.stored.keys();
    const result = await searchSimilar(copy, { imageId: first! }, { k: 5 });
    expect(result.hits).toHaveLength(5);
  } finally {
    copy.close();
  }
});

it('a restore never overwrites a library, and refuses an incomplete backup', async () => {
  await expectAppError(() => restoreLibrary(library.config, backupDir), 'conflict', /already holds a library.*never overwritten/);
  const incomplete = tempDir('atlas-incomplete-');
  writeFileSync(join(incomplete, 'atlas.db'), readFileSync(join(backupDir, 'atlas.db')));
  const config = parseConfig({ LATENT_ATLAS_DATA_DIR: join(tempDir('atlas-restored-'), 'data') });
  await expectAppError(() => restoreLibrary(config, incomplete), 'invalid_input', /not a complete backup/);
  expect(existsSync(config.dbPath)).toBe(false);
});

it('a backup refuses a folder that is not empty', async () => {
  await expectAppError(() => backupLibrary(library, backupDir), 'conflict', /not empty/);
});

/** A restored copy of the backup in a new data folder, closed: for damaging. */
async function restoredCopy(): Promise<ReturnType<typeof parseConfig>> {
  const config = parseConfig({ LATENT_ATLAS_DATA_DIR: join(tempDir('atlas-damaged-'), 'data') });
  await restoreLibrary(config, backupDir);
  return config;
}

const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

it('a damaged database is reported with the way to restore, and left untouched', async () => {
  const config = await restoredCopy();
  // Garbage over a page in the middle of the file (a failing disk), not the header.
  const fd = openSync(config.dbPath, 'r+');
  writeSync(fd, Buffer.alloc(4096, 0x5a), 0, 4096, 4 * 4096);
  closeSync(fd);
  const before = sha(config.dbPath);
  let error: unknown;
  try {
    openLibrary(config).close();
  } catch (e) {
    error = e;
  }
  expect(isAppError(error, 'damaged')).toBe(true);
  expect((error as Error).message).toMatch(/damaged.*left untouched.*npm run restore/);
  expect((error as Error).message).not.toContain(config.dataDir); // no paths in public messages
  expect(sha(config.dbPath)).toBe(before);
});

it('a database whose header is garbage is reported, not replaced', async () => {
  const config = await restoredCopy();
  const fd = openSync(config.dbPath, 'r+');
  writeSync(fd, Buffer.from('this is not a database header!!!'), 0, 32, 0);
  closeSync(fd);
  const before = sha(config.dbPath);
  await expectAppError(() => openLibrary(config), 'damaged', /npm run restore/);
  expect(sha(config.dbPath)).toBe(before);
});

it('a missing database beside stored originals is reported, not silently recreated empty', async () => {
  const config = await restoredCopy();
  rmSync(config.dbPath);
  await expectAppError(() => openLibrary(config), 'damaged', /missing.*npm run restore/);
  expect(existsSync(config.dbPath)).toBe(false);
  // A new, empty library still opens.
  const fresh = parseConfig({ LATENT_ATLAS_DATA_DIR: join(tempDir('atlas-fresh-'), 'data') });
  mkdirSync(fresh.dataDir, { recursive: true });
  openLibrary(fresh).close();
});
