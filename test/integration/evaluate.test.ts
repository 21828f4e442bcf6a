/**
 * The evaluation harness on a slice of Fashion-MNIST: every method gets every number, HNSW agrees
 * with exact search, and the numbers mean something (raw pixels retrieve far above chance).
 */
import { beforeAll, expect, it } from 'vitest';
import { loadFashionMnist } from '../../lib/data/fashion-mnist';
import { Autoencoder } from '../../lib/models/autoencoder';
import { parseModelSpec, presetSpec } from '../../lib/models/spec';
import { loadLabelledFolder } from '../../lib/data/labelled-folder';
import { fitSearchHead } from '../../lib/models/search-head';
import { trainAutoencoder, trainOptionsSchema } from '../../lib/models/train';
import { kmeans } from '../../lib/clustering/kmeans';
import { clusteringAccuracy, normalizedMutualInfo } from '../../lib/clustering/metrics';
import { evaluateEmbeddings, evaluationTable } from '../../lib/services/evaluate-service';
import { startWasm } from '../helpers/engine';
import { SHARED } from '../helpers/files';
import { join } from 'node:path';

beforeAll(startWasm);

it('scores the model, PCA and raw pixels on retrieval and clustering', async () => {
  const train = await loadFashionMnist('train', { limit: 700 }); // < 784 samples: PCA by SVD, fast
  const test = await loadFashionMnist('test', { limit: 200 });
  const model = Autoencoder.create(presetSpec('reference-cae'));
  await trainAutoencoder(model, train, trainOptionsSchema.parse({ epochs: 3, validationSplit: 0, batchSize: 32 }));
  const e = await evaluateEmbeddings(model, 'fashion-mnist', train, test, { workers: 1, backend: 'wasm', umap: true });
  expect(e.classes).toBe(10);
  expect(e.model_umap!.dim).toBe(10);
  for (const method of [e.model, e.model_umap!, e.pca, e.raw]) {
    expect(method.p_at_10).toBeGreaterThan(0.5); // chance is 0.1
    expect(method.kmeans_acc).toBeGreaterThan(0.3);
    expect(method.kmeans_nmi).toBeGreaterThan(0.3);
    expect(method.kmeans_ari).toBeGreaterThan(0.1);
  }
  expect(e.raw.dim).toBe(784);
  expect(e.pca.dim).toBe(64);
  expect(e.model.hnsw_recall_at_10).toBeGreaterThan(0.95);
  expect(Math.abs(e.model.hnsw_p_at_10! - e.model.p_at_10)).toBeLessThan(0.02);
  expect(evaluationTable(e, 'ref')).toMatch(/\| ref \(latent 64\) \| 0\.\d{3} \|/);
  expect(evaluationTable(e, 'ref')).toMatch(/\| ref \+ UMAP\(10\) \+ k-means \|/);
  model.dispose();
});

it('runs within the labelled chest X-rays: each image queries the others, k = the label count', async () => {
  const { set } = await loadLabelledFolder(join(SHARED, 'chest-xray'), { height: 32, width: 32, channels: 1 });
  const spec = parseModelSpec({ arch: 'conv', inputShape: [32, 32, 1], latentSize: 16, filters: [8, 16], embedding: { whiten: 0.5 } });
  const model = Autoencoder.create(spec);
  await trainAutoencoder(model, set, trainOptionsSchema.parse({ epochs: 2, validationSplit: 0, batchSize: 32 }));
  fitSearchHead(model, set);
  const e = await evaluateEmbeddings(model, 'chest-xray', set, set, { workers: 1, backend: 'wasm' });
  expect(e).toMatchObject({ train: 200, test: 200, within: true, classes: 2 });
  // Each image queries the others: brute-force 10-NN on the same pixels, own image excluded, gives
  // the reported precision; counting the image itself would add about one hit in ten.
  const pixels = Float64Array.from(set.pixels, (v) => v / 255);
  const labels = set.labels!;
  const dim = 32 * 32;
  const precision = (skipSelf: boolean) => {
    let total = 0;
    for (let q = 0; q < set.count; q++) {
      const distances = Array.from({ length: set.count }, (_, j) => {
        let d = 0;
        for (let c = 0; c < dim; c++) d += (pixels[q * dim + c]! - pixels[j * dim + c]!) ** 2;
        return { j, d };
      });
      const nearest = distances
        .filter(({ j }) => !skipSelf || j !== q)
        .sort((a, b) => a.d - b.d)
        .slice(0, 10);
      total += nearest.filter(({ j }) => labels[j] === labels[q]).length / 10;
    }
    return total / set.count;
  };
  const others = precision(true);
  expect(e.raw.p_at_10).toBeCloseTo(others, 2); // measured 0.819 both ways
  expect(Math.abs(precision(false) - others)).toBeGreaterThan(0.01); // 0.845 with itself counted
  // k = the label count: k-means with k = 2 over the 200 images, once, gives the reported scores.
  const clusters = kmeans(Float32Array.from(pixels), set.count, dim, { k: 2, seed: 0, restarts: 3 }).assignments;
  expect(new Set(clusters).size).toBe(2);
  expect(e.raw.kmeans_acc).toBe(clusteringAccuracy(labels, clusters));
  expect(e.raw.kmeans_nmi).toBe(normalizedMutualInfo(labels, clusters));
  expect(e.raw.p_at_10).toBeGreaterThan(0.7); // measured 0.816 at 64×64: the labels are real
  expect(e.model.hnsw_recall_at_10).toBeGreaterThan(0.95);
  expect(evaluationTable(e, 'xr')).toMatch(
    /^# Evaluation on chest-xray: each of 200 images queries the other 199; k-means \(k = 2\) on the 200/,
  );
  model.dispose();
});
