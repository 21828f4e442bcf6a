/**
 * Clustering a real library: runs are stored with a summary per cluster, automatic k (the
 * neighbour graph's eigengap) reports the silhouette and elbow, clusters are named, and exported as manifests or folders of copies.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clusterManifest, exportClusterFolder, formatManifest, nameCluster, runClustering } from '../../lib/services/cluster-service';
import { embedMissing, ingestBytes } from '../../lib/services/ingest-service';
import { findNearDuplicates } from '../../lib/services/duplicates-service';
import { findAnomalies } from '../../lib/services/anomaly-service';
import { seededRandom } from '../../lib/random';
import { Autoencoder } from '../../lib/models/autoencoder';
import { trainAutoencoder, trainOptionsSchema } from '../../lib/models/train';
import { loadFashionMnist } from '../../lib/data/fashion-mnist';
import { saveModel } from '../../lib/models/model-io';
import { registerModelDir } from '../../lib/services/model-service';
import sharp from 'sharp';
import { computeMap, storedMap } from '../../lib/services/map-service';
import type { Library } from '../../lib/services/library';
import { getClusterRun } from '../../lib/store/clusters-repo';
import { startWasm } from '../helpers/engine';
import { ingestedLibrary } from '../helpers/library';
import { tinyConvSpec } from '../helpers/models';

let library: Library;
let dataDir: string;
let folder: string;
let remove: () => void;

beforeAll(async () => {
  await startWasm();
  ({ library, dataDir, folder, remove } = await ingestedLibrary(240));
});
afterAll(() => remove());

describe('clustering a library', () => {
  it('stores a run whose clusters cover every image, with representatives and outliers', async () => {
    const run = await runClustering(library, { k: 4, seed: 1 });
    const clusters = run.result.clusters;
    expect(clusters).toHaveLength(4);
    expect(clusters.reduce((s, c) => s + c.size, 0)).toBe(240);
    for (const c of clusters.filter((c) => c.size > 0)) {
      expect(c.representatives.length).toBeGreaterThan(0);
      const members = clusterManifest(library, run.id, c.cluster);
      expect(members).toHaveLength(c.size);
      expect(members[0]!.id).toBe(c.representatives[0]);
      expect(members.at(-1)!.id).toBe(c.outliers[0]);
    }
    expect(getClusterRun(library.db, run.id)!.params).toEqual({ k: 4, seed: 1, restarts: 3, auto: false, umap: false });
  });

  it("chooses k automatically by the neighbour graph's eigengap and reports silhouette and elbow", async () => {
    const run = await runClustering(library, { k: 'auto', range: [2, 5], seed: 1 });
    const elbow = run.result.elbow!;
    expect(elbow.map((e) => e.k)).toEqual([2, 3, 4, 5]);
    for (const e of elbow) expect(e.eigengap).toBeGreaterThanOrEqual(0);
    const best = elbow.reduce((a, b) => (b.eigengap! > a.eigengap! ? b : a));
    expect(run.params.k).toBe(best.k);
    expect(elbow[3]!.inertia).toBeLessThan(elbow[0]!.inertia);
  });

  it('names a cluster and exports it as CSV, JSON and a folder of copies', async () => {
    const run = await runClustering(library, { k: 3, seed: 2 });
    const named = nameCluster(library, run.id, 0, '  Shoes, mostly  ');
    expect(named.result.clusters[0]!.name).toBe('Shoes, mostly');
    expect(getClusterRun(library.db, run.id)!.result.clusters[0]!.name).toBe('Shoes, mostly');
    const rows = clusterManifest(library, run.id, 0);
    const csv = formatManifest(rows, 'csv');
    expect(csv.split('\n')[0]).toBe('id,name,contentHash,format,modality,labels,distance');
    expect(csv.trim().split('\n')).toHaveLength(rows.length + 1);
    expect(JSON.parse(formatManifest(rows, 'json'))).toHaveLength(rows.length);
    const dest = join(dataDir, 'export');
    expect(await exportClusterFolder(library, run.id, 0, dest)).toBe(rows.length);
    const files = readdirSync(dest);
    expect(files).toContain('manifest.csv');
    expect(files.filter((f) => f.endsWith('.png'))).toHaveLength(rows.length);
    expect(
      readFileSync(join(dest, `${rows[0]!.id}.png`))
        .subarray(1, 4)
        .toString(),
    ).toBe('PNG');
    expect(existsSync(join(dest, rows[0]!.name!))).toBe(false);
  });

  it('computes and stores the 2-D map by PCA and by UMAP', async () => {
    for (const method of ['pca', 'umap'] as const) {
      const points = await computeMap(library, method, { seed: 1 });
      expect(points).toHaveLength(240);
      expect(points.every((p) => Number.isFinite(p.x) && Number.isFinite(p.y))).toBe(true);
      expect(storedMap(library, method)).toEqual(
        points.map((p) => ({ imageId: p.imageId, x: expect.closeTo(p.x, 4), y: expect.closeTo(p.y, 4) })),
      );
    }
    await expect(computeMap(library, 'tsne' as 'pca')).rejects.toThrow(/unknown map method 'tsne'; valid: pca, umap/);
  });

  it('finds near-duplicates through the index: a re-encoded copy of an image joins it', async () => {
    const bytes = readFileSync(join(folder, 'class-9', 'img-0.png'));
    const copy = await sharp(bytes).png({ compressionLevel: 1 }).toBuffer(); // same pixels, other bytes
    expect(copy.equals(bytes)).toBe(false);
    const added = await ingestBytes(library, 'copy.png', copy);
    expect(added.added).toBe(1);
    const { groups, threshold } = await findNearDuplicates(library, {});
    expect(threshold).toBeGreaterThan(0);
    const original = library.db.prepare(`SELECT id FROM images WHERE original_name = 'class-9/img-0.png'`).pluck().get() as number;
    expect(groups.some((g) => g.ids.includes(original) && g.ids.includes(added.ids[0]!))).toBe(true);
    await expect(findNearDuplicates(library, { threshold: -1 })).rejects.toThrow(/threshold must be a finite number/);
  });

  it('clusters a UMAP projection of the vectors when asked (N2D)', async () => {
    const run = await runClustering(library, { k: 4, seed: 1, umap: true });
    expect(run.params.umap).toBe(true);
    expect(run.result.clusters.reduce((s, c) => s + c.size, 0)).toBeGreaterThanOrEqual(240);
    expect(run.result.clusters[0]!.centroid).toHaveLength(10);
  });

  it('ranks anomalies by reconstruction error: a noise image among clothes comes first', async () => {
    // A model that has learnt clothes: Fashion-MNIST, a few epochs.
    const model = Autoencoder.create(tinyConvSpec());
    await trainAutoencoder(
      model,
      await loadFashionMnist('train', { limit: 1500 }),
      trainOptionsSchema.parse({ epochs: 3, validationSplit: 0, batchSize: 32, learningRate: 3e-3 }),
    );
    const dir = join(library.config.modelsDir, 'trained');
    await saveModel(model, dir);
    model.dispose();
    await registerModelDir(library, dir, { activate: true });
    await embedMissing(library);
    const random = seededRandom(11);
    const noise = await sharp(
      Uint8Array.from({ length: 28 * 28 }, () => Math.floor(random() * 256)),
      { raw: { width: 28, height: 28, channels: 1 } },
    )
      .png()
      .toBuffer();
    const added = await ingestBytes(library, 'noise.png', noise);
    const anomalies = await findAnomalies(library, 5);
    expect(anomalies).toHaveLength(5);
    expect(anomalies[0]!.image.id).toBe(added.ids[0]);
    expect(anomalies[0]!.error).toBeGreaterThan(anomalies[1]!.error);
    expect(anomalies[1]!.error).toBeGreaterThanOrEqual(anomalies[4]!.error);
    await expect(findAnomalies(library, 0)).rejects.toThrow(/top must be an integer/);
  });

  it('refuses bad k and unknown runs or clusters with typed errors', async () => {
    await expect(runClustering(library, { k: 0 })).rejects.toThrow(/positive integer/);
    await expect(runClustering(library, { k: 1.5 })).rejects.toThrow(/positive integer/);
    await expect(runClustering(library, { k: 1000 })).rejects.toThrow(/larger than the number of vectors/);
    expect(() => nameCluster(library, 9999, 0, 'x')).toThrow(/cluster run 9999 not found/);
    const run = await runClustering(library, { k: 2 });
    expect(() => nameCluster(library, run.id, 7, 'x')).toThrow(/cluster 7 not found/);
    expect(() => nameCluster(library, run.id, 0, '   ')).toThrow(/1 to 100 characters/);
  });
});
