/**
 * The service functions the API routes call, on a real library: uploads with their per-file
 * verdicts and label merging, images by id (404s included), the status, the checks made before a
 * clustering or an activation is queued, a cluster's page and the latent map.
 */
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queueActivation, queueClustering, recentJobs } from '../../lib/jobs/job-service';
import { activeModelClusterRuns, clusterPage, clusterRunOrThrow, runClustering } from '../../lib/services/cluster-service';
import { deleteImage, imageOrThrow, libraryPage, originalBytes, relabelImage } from '../../lib/services/image-service';
import { contentHash, ingestUploads } from '../../lib/services/ingest-service';
import { openLibrary, type Library } from '../../lib/services/library';
import { immediate } from '../../lib/store/database';
import { deleteImage as removeImageRow, insertImage } from '../../lib/store/images-repo';
import { activeModelMap, activeModelMapJsonSlices } from '../../lib/services/map-service';
import { listModelInfos } from '../../lib/services/model-service';
import { libraryHealth, libraryStatus } from '../../lib/services/status-service';
import { startWasm } from '../helpers/engine';
import { fashionFolder, tempLibrary } from '../helpers/library';
import { photo } from '../helpers/files';

let library: Library;
let dataDir: string;
let pngs: { name: string; bytes: Uint8Array }[];

beforeAll(async () => {
  await startWasm();
  ({ library, dataDir } = await tempLibrary());
  // Upload bytes: Fashion-MNIST PNGs read back from a temp folder, which then goes.
  const folder = await fashionFolder(12);
  const files = readdirSync(folder, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.png'));
  pngs = files.sort().map((file) => ({ name: basename(file), bytes: new Uint8Array(readFileSync(join(folder, file))) }));
  rmSync(folder, { recursive: true, force: true });
});
afterAll(() => {
  library.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('uploads', () => {
  it('gives each file its verdict in order: added, already stored (with its id), refused with code and reason', async () => {
    const broken = { name: 'broken.jpg', bytes: photo().subarray(0, 2000) };
    const first = await ingestUploads(library, [pngs[0]!, pngs[0]!, broken], { label: 'shoes' });
    expect(first.map((r) => r.status)).toEqual(['added', 'duplicate', 'refused']);
    const [added, duplicate, refused] = first as unknown as [{ id: number }, { id: number }, { code: string; reason: string }];
    expect(duplicate.id).toBe(added.id);
    expect(refused.code).toBe('invalid_input');
    expect(imageOrThrow(library, added.id)).toMatchObject({ contentHash: contentHash(pngs[0]!.bytes), labels: ['shoes'] });
  });

  it('adds a label to an image already stored without repeating one it has', async () => {
    const [again] = await ingestUploads(library, [pngs[0]!], { label: 'boots' });
    const [twice] = await ingestUploads(library, [pngs[0]!], { label: 'boots' });
    expect([again!.status, twice!.status]).toEqual(['duplicate', 'duplicate']);
    expect(imageOrThrow(library, (again as { id: number }).id).labels).toEqual(['shoes', 'boots']);
  });

  it('refuses an upload without files', async () => {
    await expect(ingestUploads(library, [])).rejects.toMatchObject({ code: 'invalid_input', message: 'the upload holds no files' });
  });
});

describe('images', () => {
  it('pages the library with the labels in use, relabels, serves the original and deletes', async () => {
    await ingestUploads(library, pngs.slice(1));
    const page = libraryPage(library, { limit: 5 });
    expect(page.total).toBe(12);
    expect(page.images).toHaveLength(5);
    expect(page.labels).toEqual([
      { label: 'boots', count: 1 },
      { label: 'shoes', count: 1 },
    ]);
    const id = page.images[0]!.id;
    expect(relabelImage(library, id, ['a', 'b', 'a']).labels).toEqual(['a', 'b']);
    const { image, bytes } = await originalBytes(library, id);
    expect(contentHash(bytes)).toBe(image.contentHash);
    deleteImage(library, id);
    for (const call of [() => imageOrThrow(library, id), () => relabelImage(library, id, []), () => deleteImage(library, id)])
      expect(call).toThrow(expect.objectContaining({ code: 'not_found', message: `image ${id} not found` }));
    await expect(originalBytes(library, id)).rejects.toMatchObject({ code: 'not_found' });
  });

  it('says what the status area shows', () => {
    const model = listModelInfos(library)[0]!;
    expect(model).not.toHaveProperty('dir');
    expect(libraryStatus(library, 'wasm')).toMatchObject({
      backend: 'wasm',
      images: 11,
      model: { id: model.id, latentSize: 16, embedded: 11 },
      jobs: [],
    });
    expect(libraryHealth(library, 'wasm')).toEqual({ ok: true, backend: 'wasm', images: 11 });
  });

  it('keeps its counts only until something is committed, here or through another connection', () => {
    expect(libraryStatus(library, 'wasm').images).toBe(11);
    // Another connection (as the job worker's process has) adds an image: the next answer counts it.
    const other = openLibrary(library.config);
    try {
      const id = immediate(other.db, () =>
        insertImage(other.db, {
          contentHash: 'f'.repeat(64),
          originalName: 'elsewhere.png',
          format: 'png',
          byteSize: 1,
          width: 1,
          height: 1,
          modality: 'photo',
        }),
      );
      expect(libraryHealth(library, 'wasm').images).toBe(12);
      expect(libraryStatus(library, 'wasm').images).toBe(12);
      // This connection removes it: counted again.
      expect(removeImageRow(library.db, id)).toBe(true);
      expect(libraryStatus(library, 'wasm').images).toBe(11);
      expect(libraryHealth(library, 'wasm').images).toBe(11);
    } finally {
      other.close();
    }
  });
});

describe('clusters, map and jobs', () => {
  it('refuses a clustering that cannot work before queueing it, and an unknown model to activate', () => {
    expect(() => queueClustering(library, { k: 12, umap: false, seed: 0 })).toThrow(
      expect.objectContaining({ code: 'invalid_input', message: 'k = 12 needs at least 12 images; the library has 11' }),
    );
    expect(() => queueClustering(library, { k: 'auto', range: [20, 30], umap: false, seed: 0 })).toThrow(/k = 20 needs/);
    expect(() => queueActivation(library, 999)).toThrow(expect.objectContaining({ code: 'not_found', message: 'model 999 not found' }));
    const job = queueClustering(library, { k: 3, umap: false, seed: 0 });
    expect(recentJobs(library, { state: 'queued', limit: 5 }).map((j) => j.id)).toEqual([job.id]);
    expect(recentJobs(library, { state: 'running', limit: 5 })).toEqual([]);
  });

  it('lists the active model’s runs and pages a cluster with its summary', async () => {
    const run = await runClustering(library, { k: 3, seed: 0 });
    expect(activeModelClusterRuns(library)).toEqual([
      { id: run.id, createdAt: run.createdAt, params: run.params, sizes: run.result.clusters.map((c) => c.size) },
    ]);
    const biggest = [...run.result.clusters].sort((a, b) => b.size - a.size)[0]!;
    const page = clusterPage(library, run.id, biggest.cluster, { limit: 2 });
    expect(page).toMatchObject({ runId: run.id, summary: biggest, total: biggest.size });
    expect(page.members).toHaveLength(Math.min(2, biggest.size));
    expect(page.outliers.map((o) => o.id)).toEqual(biggest.outliers);
    expect(() => clusterRunOrThrow(library, run.id + 1)).toThrow(`cluster run ${run.id + 1} not found`);
    expect(() => clusterPage(library, run.id, 7, { limit: 1 })).toThrow(`cluster 7 not found in run ${run.id}`);

    const map = await activeModelMap(library, 'pca', run.id);
    expect(map).toMatchObject({ method: 'pca', stale: false });
    expect(map.points).toHaveLength(11);
    const members = new Set(clusterPage(library, run.id, biggest.cluster, { limit: 100 }).members.map((m) => m.id));
    for (const p of map.points) expect(p.cluster === biggest.cluster).toBe(members.has(p.id));
    expect((await activeModelMap(library, 'umap')).points).toEqual([]); // UMAP is a job, never computed here
    // The JSON map as the route sends it, slice by slice: the same document.
    const slices = [...(await activeModelMapJsonSlices(library, 'pca', run.id, 4))];
    expect(slices).toHaveLength(2 + Math.ceil(11 / 4));
    expect(JSON.parse(slices.join(''))).toEqual(map);
    expect(JSON.parse([...(await activeModelMapJsonSlices(library, 'umap'))].join(''))).toEqual(await activeModelMap(library, 'umap'));
  });
});
