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
  for (const method of [e.model, e.pca, e.raw]) {
    for (const v of [method.p_at_10, method.kmeans_acc]) expect(v).toBeGreaterThanOrEqual(0.5 - 0.05); // 2 balanced classes
    for (const v of [method.p_at_10, method.kmeans_acc, method.kmeans_nmi]) expect(v).toBeLessThanOrEqual(1);
  }
  expect(e.raw.p_at_10).toBeGreaterThan(0.7); // measured 0.816 at 64×64: the labels are real
  expect(e.model.hnsw_recall_at_10).toBeGreaterThan(0.95);
  expect(evaluationTable(e, 'xr')).toMatch(
    /^# Evaluation on chest-xray: each of 200 images queries the other 199; k-means \(k = 2\) on the 200/,
  );
  model.dispose();
});
