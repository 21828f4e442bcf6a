/**
 * A full disk (issue 18, item 3), on a real one: the library lives on a 16 MiB tmpfs this test
 * mounts (root only; skipped, saying why, where mounting is not allowed), filled to the last block.
 * Uploads, folder ingest, index saves, model saves (training checkpoints are model saves),
 * thumbnails and cluster exports each meet ENOSPC: a clear AppError('storage_full') — HTTP 507 at
 * the upload door — no partial or temp file, no row pointing at nothing, search still answering;
 * and the same action succeeds once space is freed.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorResponse } from '../../app/_server/respond';
import { parseConfig } from '../../lib/config';
import { isAppError } from '../../lib/errors';
import { Autoencoder } from '../../lib/models/autoencoder';
import { saveModel } from '../../lib/models/model-io';
import { exportClusterFolder, runClustering } from '../../lib/services/cluster-service';
import { contentHash, ingestFolder, ingestUploads } from '../../lib/services/ingest-service';
import { openLibrary, originalPath, type Library } from '../../lib/services/library';
import { modelIndex } from '../../lib/services/model-service';
import { searchSimilar } from '../../lib/services/search-service';
import { thumbnailFor } from '../../lib/services/thumbnail-service';
import { countImages } from '../../lib/store/images-repo';
import { activeModel } from '../../lib/store/models-repo';
import { checkLibrary } from '../helpers/consistency';
import { startWasm } from '../helpers/engine';
import { addModel, fashionFolder } from '../helpers/library';
import { tinyConvSpec } from '../helpers/models';

const mountPoint = mkdtempSync(join(tmpdir(), 'atlas-full-disk-'));
let mounted = false;
let whyNot = '';
try {
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', mountPoint], { stdio: 'pipe' });
  mounted = true;
} catch (error) {
  whyNot = String((error as { stderr?: Buffer }).stderr ?? error).trim();
}

let library: Library;
const folders: string[] = [];
const filler = join(mountPoint, 'filler');

/** Fills the file system to its last block. */
function fill(): void {
  const fd = openSync(filler, 'a');
  const chunk = Buffer.alloc(64 * 1024, 1);
  try {
    for (let size = chunk.length; size >= 1; size = Math.floor(size / 2)) {
      for (;;) {
        try {
          writeSync(fd, chunk, 0, size);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
          break;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
}
const free = () => rmSync(filler, { force: true });

/** Temp files of atomic writes, and any other file under `dir` whose name says it is unfinished. */
const leftovers = (dir: string) => readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => /\.tmp-/.test(f));

async function png(seed: number): Promise<Uint8Array> {
  const pixels = Buffer.alloc(28 * 28, seed & 0xff);
  pixels[0] = seed >> 8;
  return new Uint8Array(
    await sharp(pixels, { raw: { width: 28, height: 28, channels: 1 } })
      .png()
      .toBuffer(),
  );
}

/** `fn` with the disk full: it must fail with storage_full and leave the library consistent and searchable. */
async function failsWhileFull(fn: () => Promise<unknown>): Promise<unknown> {
  fill();
  let error: unknown;
  try {
    await fn();
  } catch (e) {
    error = e;
  }
  try {
    expect(isAppError(error, 'storage_full'), String(error)).toBe(true);
    expect((error as Error).message).toMatch(/disk is full.*free some space/);
    expect(leftovers(library.config.dataDir)).toEqual([]);
    expect(checkLibrary(library).violations).toEqual([]);
    const hits = await searchSimilar(library, { imageId: 1 }, { k: 3 });
    expect(hits.hits).toHaveLength(3);
  } finally {
    free();
  }
  return error;
}

describe.skipIf(!mounted)(`a full disk${mounted ? '' : ` (skipped: cannot mount a tmpfs here: ${whyNot})`}`, () => {
  beforeAll(async () => {
    await startWasm();
    const config = parseConfig({ LATENT_ATLAS_DATA_DIR: join(mountPoint, 'data'), LATENT_ATLAS_WORKERS: '1' });
    library = openLibrary(config);
    await addModel(library, 'full-disk', 8, true);
    const folder = await fashionFolder(24);
    folders.push(folder);
    await ingestFolder(library, folder);
  });
  afterAll(() => {
    library?.close();
    for (const folder of folders) rmSync(folder, { recursive: true, force: true });
  });

  it('an upload answers 507 and stores nothing; after space is freed the same upload is added', async () => {
    const bytes = await png(1000);
    const before = countImages(library.db);
    const error = await failsWhileFull(() => ingestUploads(library, [{ name: 'new.png', bytes }]));
    const response = errorResponse(error);
    expect(response.status).toBe(507);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('storage_full');
    expect(countImages(library.db)).toBe(before);
    expect(existsSync(originalPath(library.config, contentHash(bytes)))).toBe(false);
    const [result] = await ingestUploads(library, [{ name: 'new.png', bytes }]);
    expect(result!.status).toBe('added');
    expect(countImages(library.db)).toBe(before + 1);
  });

  it('a folder ingest stops with storage_full, and ingests the folder once space is freed', async () => {
    const folder = mkdtempSync(join(tmpdir(), 'atlas-full-folder-'));
    folders.push(folder);
    const files = await Promise.all(Array.from({ length: 40 }, (_, i) => png(2000 + i)));
    files.forEach((bytes, i) => writeFileSync(join(folder, `${i}.png`), bytes));
    const before = countImages(library.db);
    await failsWhileFull(() => ingestFolder(library, folder, { batchSize: 8 }));
    // Batches committed before the disk filled stay (whole); the rest is added now.
    const afterFailure = countImages(library.db);
    const report = await ingestFolder(library, folder, { batchSize: 8 });
    expect(report.added).toBe(before + 40 - afterFailure);
    expect(countImages(library.db)).toBe(before + 40);
    expect(checkLibrary(library).unembedded).toBe(0);
  });

  it('an index save fails whole: the last saved index stays the one the app opens', async () => {
    const model = activeModel(library.db)!;
    const opened = modelIndex(library, model);
    await failsWhileFull(async () => opened.index.save(opened.generation));
    opened.index.save(opened.generation);
    expect(checkLibrary(library).index).toBe('current');
  });

  it('a model save (and so a training checkpoint) fails whole, and works once space is freed', async () => {
    const model = Autoencoder.create(tinyConvSpec({ latentSize: 8 }));
    const dir = join(library.config.modelsDir, 'saved-when-full');
    try {
      await failsWhileFull(() => saveModel(model, dir));
      expect(existsSync(dir)).toBe(false);
      await saveModel(model, dir);
      expect(existsSync(join(dir, 'model.json'))).toBe(true);
    } finally {
      model.dispose();
    }
  });

  it('a thumbnail is still served on a full disk (it is a cache), and cached once there is space', async () => {
    fill();
    try {
      const webp = await thumbnailFor(library, 2);
      expect((await sharp(webp).metadata()).format).toBe('webp');
      expect(leftovers(library.config.dataDir)).toEqual([]);
    } finally {
      free();
    }
    await thumbnailFor(library, 2);
    expect(readdirSync(library.config.thumbnailsDir, { recursive: true }).length).toBeGreaterThan(0);
  });

  it('a cluster export fails without leaving a partial folder, and exports once space is freed', async () => {
    const run = await runClustering(library, { k: 2, seed: 1 });
    const dest = join(mountPoint, 'export');
    await failsWhileFull(() => exportClusterFolder(library, run.id, 0, dest));
    expect(readdirSync(dest)).toEqual([]);
    const count = await exportClusterFolder(library, run.id, 0, dest);
    expect(readdirSync(dest)).toHaveLength(count + 1); // the images and manifest.csv
  });
});

afterAll(() => {
  if (mounted) execFileSync('umount', [mountPoint]);
  rmSync(mountPoint, { recursive: true, force: true });
});
