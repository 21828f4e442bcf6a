/**
 * The image page's views on a real library: reconstruction (PNG in and out, error), noise that
 * changes the input, the latent walk, and images stored before any model exists.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../lib/config';
import { embedMissing, ingestFolder } from '../../lib/services/ingest-service';
import { openLibrary, type Library } from '../../lib/services/library';
import { latentWalk, reconstructImage } from '../../lib/services/reconstruction-service';
import { countImages, listImages } from '../../lib/store/images-repo';
import { activeModel } from '../../lib/store/models-repo';
import { startWasm } from '../helpers/engine';
import { addModel, fashionFolder, tempLibrary } from '../helpers/library';

let library: Library;
let dataDir: string;
let folder: string;

beforeAll(async () => {
  await startWasm();
  ({ library, dataDir } = await tempLibrary(8));
  folder = await fashionFolder(12);
  await ingestFolder(library, folder, { labelFromFolder: true });
});
afterAll(() => {
  library.close();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(folder, { recursive: true, force: true });
});

describe('reconstruction views', () => {
  it('gives the latent vector, input and output PNGs at view size, and the error', async () => {
    const [image] = listImages(library.db, { limit: 1 }).images;
    const r = await reconstructImage(library, image!.id);
    expect(r.latent).toHaveLength(8);
    expect(r.error).toBeGreaterThan(0);
    expect(r.error).toBeLessThan(1);
    const meta = await sharp(r.output).metadata();
    expect(meta.format).toBe('png');
    expect(meta.width).toBe(28 * 6); // 28 px enlarged to ≥ 168
    const noisy = await reconstructImage(library, image!.id, { noise: 0.5, seed: 3 });
    expect(noisy.input.equals(r.input)).toBe(false);
    expect(noisy.latent).toEqual(r.latent); // the stored vector, whatever the noise
  });

  it('walks the latent space between two images in a strip of decoded images', async () => {
    const [a, b] = listImages(library.db, { limit: 2 }).images;
    const png = await latentWalk(library, a!.id, b!.id, 5);
    const meta = await sharp(png).metadata();
    expect(meta.height).toBe(28 * 3);
    expect(meta.width).toBe((5 * 28 + 4 * 2) * 3);
  });

  it('refuses unknown images and bad parameters with clear errors', async () => {
    await expect(reconstructImage(library, 99999)).rejects.toMatchObject({ code: 'not_found' });
    await expect(reconstructImage(library, 1, { noise: 2 })).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(latentWalk(library, 1, 2, 1)).rejects.toMatchObject({ code: 'invalid_input' });
  });
});

describe('a library without a model', () => {
  it('stores images unembedded; they are embedded when a model is activated', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'latent-atlas-nomodel-'));
    const bare = openLibrary(parseConfig({ LATENT_ATLAS_DATA_DIR: dir, LATENT_ATLAS_WORKERS: '1' }));
    try {
      const report = await ingestFolder(bare, folder);
      expect(report).toMatchObject({ added: 12, embedded: false, index: null });
      expect(countImages(bare.db)).toBe(12);
      expect(activeModel(bare.db)).toBeNull();
      const again = await ingestFolder(bare, folder);
      expect(again.duplicates).toBe(12);
      await addModel(bare, 'late', 8, true);
      expect((await embedMissing(bare)).embedded).toBe(12);
    } finally {
      bare.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
