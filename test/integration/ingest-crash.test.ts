/**
 * `kill -9` in the middle of `npm run ingest`, then the same command again: the store and the
 * index agree (same ids), there are no duplicates, and every stored original matches its hash.
 */
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openDatabase } from '../../lib/store/database';
import { iterateEmbeddings } from '../../lib/store/embeddings-repo';
import { activeModel } from '../../lib/store/models-repo';
import { openLibrary, originalPath, type Library } from '../../lib/services/library';
import { openModelIndex } from '../../lib/services/model-service';
import { startWasm } from '../helpers/engine';
import { fashionFolder, tempLibrary } from '../helpers/library';

const TSX = join(process.cwd(), 'node_modules', '.bin', 'tsx');
const FILES = 2500;
let dataDir: string;
let folder: string;

beforeAll(async () => {
  await startWasm();
  const temp = await tempLibrary();
  temp.library.close();
  dataDir = temp.dataDir;
  folder = await fashionFolder(FILES);
});
afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(folder, { recursive: true, force: true });
});

const env = () => ({ ...process.env, LATENT_ATLAS_DATA_DIR: dataDir });

it('survives kill -9 mid-ingest: rerun ends with store and index in agreement', async () => {
  // node itself (not the tsx wrapper, which would leave its child running) so the kill is real.
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/ingest.ts', folder], { env: env(), stdio: 'ignore' });
  const db = openDatabase(join(dataDir, 'atlas.db'));
  const started = Date.now();
  // Kill once some batches are committed and more are on their way.
  while ((db.prepare('SELECT count(*) FROM images').pluck().get() as number) < 512) {
    if (Date.now() - started > 60_000) throw new Error('ingest made no progress');
    if (child.exitCode !== null) throw new Error(`ingest exited early with ${child.exitCode}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const partial = db.prepare('SELECT count(*) FROM images').pluck().get() as number;
  db.close();
  expect(partial).toBeGreaterThanOrEqual(512);
  expect(partial).toBeLessThan(FILES);

  const { stdout } = await promisify(execFile)(TSX, ['scripts/ingest.ts', folder], { env: env(), timeout: 120_000 });
  const report = JSON.parse(stdout.trim().split('\n').at(-1)!) as { added: number; duplicates: number };
  expect(report.added + report.duplicates).toBe(FILES);
  expect(report.added).toBe(FILES - partial);

  const library: Library = openLibrary({ ...(await import('../../lib/config')).parseConfig({ LATENT_ATLAS_DATA_DIR: dataDir }) });
  try {
    expect(library.db.pragma('integrity_check', { simple: true })).toBe('ok');
    const hashes = library.db.prepare('SELECT content_hash FROM images').pluck().all() as string[];
    expect(hashes).toHaveLength(FILES);
    expect(new Set(hashes).size).toBe(FILES);
    for (const hash of hashes.slice(0, 200)) {
      expect(
        createHash('sha256')
          .update(readFileSync(originalPath(library.config, hash)))
          .digest('hex'),
      ).toBe(hash);
    }
    const model = activeModel(library.db)!;
    const stored = new Set([...iterateEmbeddings(library.db, model.id, model.latentSize)].map((e) => e.imageId));
    expect(stored.size).toBe(FILES);
    const opened = openModelIndex(library, model);
    expect(opened.rebuilt).toBe(false);
    expect(opened.index.ids()).toEqual(stored);
    // No temp files left behind by the killed run's atomic writes, beyond at most one batch.
    const leftovers = readdirSync(library.config.originalsDir, { recursive: true }).filter((f) => String(f).includes('.tmp-'));
    expect(leftovers.length).toBeLessThan(256);
  } finally {
    library.close();
  }
});
