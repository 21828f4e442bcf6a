/**
 * The clustering fine-tune (IDEC): its loss has gradients on the wasm engine that match the cpu
 * backend, and on a few hundred Fashion-MNIST images it sharpens the clusters (KL(P‖Q) falls),
 * leaks no tensors and round-trips the centres through save/load.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFashionMnist } from '../../../lib/data/fashion-mnist';
import { tf } from '../../../lib/engine/tf';
import { isAppError } from '../../../lib/errors';
import { Autoencoder, CENTERS } from '../../../lib/models/autoencoder';
import { finetuneClusters, softAssignCodes } from '../../../lib/models/cluster-finetune';
import { encodeImages } from '../../../lib/models/inference';
import type { ImageSet } from '../../../lib/models/image-set';
import { clusteringKl, softAssignments, targetDistribution } from '../../../lib/models/losses';
import { loadModel, saveModel } from '../../../lib/models/model-io';
import { parseModelSpec } from '../../../lib/models/spec';
import { trainAutoencoder, trainOptionsSchema } from '../../../lib/models/train';
import { onBackend, relativeError, startWasm } from '../../helpers/engine';

let images: ImageSet;
let dir: string;

beforeAll(async () => {
  await startWasm();
  images = await loadFashionMnist('train', { limit: 256 });
  dir = await mkdtemp(join(tmpdir(), 'latent-atlas-dec-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const spec = parseModelSpec({
  arch: 'conv',
  inputShape: [28, 28, 1],
  latentSize: 8,
  filters: [8, 16],
  downsample: 'stride',
  upsampling: 'transposed',
  clustering: { clusters: 4 },
});

describe('clustering loss gradients', () => {
  it('wasm matches cpu for d KL(P‖Q) / d codes and d centres', async () => {
    const codes = Array.from({ length: 6 * 3 }, (_, i) => Math.sin(i * 1.7) * 2);
    const centers = Array.from({ length: 2 * 3 }, (_, i) => Math.cos(i * 0.9));
    const gradients = () =>
      tf.tidy(() => {
        const z = tf.tensor2d(codes, [6, 3]);
        const mu = tf.tensor2d(centers, [2, 3]);
        const p = targetDistribution(softAssignments(z, mu));
        const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => clusteringKl(p, softAssignments(a, b)))([z, mu]);
        return g.map((t) => Array.from(t.dataSync()));
      });
    const wasm = await onBackend('wasm', gradients);
    const cpu = await onBackend('cpu', gradients);
    expect(Math.max(...wasm[0]!.map(Math.abs))).toBeGreaterThan(1e-4);
    expect(relativeError(wasm[0]!, cpu[0]!)).toBeLessThan(1e-4);
    expect(relativeError(wasm[1]!, cpu[1]!)).toBeLessThan(1e-4);
  });
});

describe('finetuneClusters', () => {
  it('sharpens the clusters (KL falls), leaks nothing, and the centres round-trip', async () => {
    const model = Autoencoder.create(spec);
    const options = trainOptionsSchema.parse({
      epochs: 2,
      batchSize: 32,
      learningRate: 3e-3,
      validationSplit: 0,
      clustering: { epochs: 4, updateInterval: 4, tolerance: 0, restarts: 2 },
    });
    await trainAutoencoder(model, images, options);
    const tensorsBefore = tf.memory().numTensors;
    const result = await finetuneClusters(model, images, options);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    const summary = result.clustering!;
    expect(result.history.map((h) => h.phase)).toEqual(['cluster', 'cluster', 'cluster', 'cluster']);
    expect(summary.steps).toBe(4 * 8);
    expect(summary.updates).toBe(9);
    expect(summary.klEnd).toBeLessThan(summary.klStart);
    expect(summary.sizes.reduce((a, b) => a + b, 0)).toBe(256);

    const path = join(dir, 'dec');
    await saveModel(model, path);
    const { model: loaded } = await loadModel(path);
    expect(loaded.p(CENTERS).dataSync()).toEqual(model.p(CENTERS).dataSync());
    expect(softAssignCodes(loaded, encodeImages(loaded, images))).toEqual(softAssignCodes(model, encodeImages(model, images)));
    model.dispose();
    loaded.dispose();
  });

  it('refuses a model without a clustering head', async () => {
    const plain = Autoencoder.create(parseModelSpec({ ...spec, clustering: undefined }));
    const error = await finetuneClusters(plain, images, trainOptionsSchema.parse({})).catch((e: unknown) => e);
    expect(isAppError(error) && error.code).toBe('invalid_input');
    plain.dispose();
  });
});
