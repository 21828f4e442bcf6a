/**
 * The evaluation harness on a slice of Fashion-MNIST: every method gets every number, HNSW agrees
 * with exact search, and the numbers mean something (raw pixels retrieve far above chance).
 */
import { beforeAll, expect, it } from 'vitest';
import { loadFashionMnist } from '../../lib/data/fashion-mnist';
import { Autoencoder } from '../../lib/models/autoencoder';
import { presetSpec } from '../../lib/models/spec';
import { trainAutoencoder, trainOptionsSchema } from '../../lib/models/train';
import { evaluateEmbeddings, evaluationTable } from '../../lib/services/evaluate-service';
import { startWasm } from '../helpers/engine';

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
