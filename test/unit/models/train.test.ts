/**
 * Every autoencoder variant trains (loss falls on held-out images), round-trips through
 * save/load with identical outputs, leaks no tensors, repeats with a seed, stops early and
 * cancels. Real data: the first images of Fashion-MNIST.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFashionMnist } from '../../../lib/data/fashion-mnist';
import { tf } from '../../../lib/engine/tf';
import { isAppError } from '../../../lib/errors';
import { Autoencoder } from '../../../lib/models/autoencoder';
import { headImages, type ImageSet } from '../../../lib/data/image-set';
import { decodeCodes, denoiseImages, encodeImages, reconstructImages, reconstructionErrors } from '../../../lib/models/inference';
import { loadModel, saveModel } from '../../../lib/models/model-io';
import { parseModelSpec, type ModelSpecInput } from '../../../lib/models/spec';
import { refuseShardedTwoViews, shardsTwoViews, trainAutoencoder, trainOptionsSchema, trainStacked } from '../../../lib/models/train';
import { startWasm } from '../../helpers/engine';

let images: ImageSet;
let dir: string;

beforeAll(async () => {
  await startWasm();
  images = await loadFashionMnist('train', { limit: 384 });
  dir = await mkdtemp(join(tmpdir(), 'latent-atlas-models-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const base = { inputShape: [28, 28, 1] as [number, number, 1], latentSize: 16 };
const variants: Record<string, ModelSpecInput> = {
  'dense undercomplete': { arch: 'dense', ...base, hidden: [64] },
  'dense overcomplete, BCE': { arch: 'dense', ...base, latentSize: 1000, loss: 'bce' },
  'conv, max pooling, nearest': { arch: 'conv', ...base, filters: [8, 16] },
  'conv, max pooling, bilinear': { arch: 'conv', ...base, filters: [8, 16], upsampling: 'bilinear' },
  'conv, stride, transposed': { arch: 'conv', ...base, filters: [8, 16], downsample: 'stride', upsampling: 'transposed' },
  'sparse dense': { arch: 'dense', ...base, latentSize: 32, sparse: { rho: 0.1, beta: 0.5 } },
  'denoising conv': { arch: 'conv', ...base, filters: [8, 16], denoising: { noiseFactor: 0.3 } },
  'conv, group norm, global average pooling': { arch: 'conv', ...base, filters: [8, 16], norm: 'group', pool: 'average' },
  'conv + two views (NT-Xent, garment views)': {
    arch: 'conv',
    ...base,
    filters: [8, 16],
    contrastive: { views: 'garment', weight: 0.1, projection: [32, 16] },
  },
};
const options = trainOptionsSchema.parse({ epochs: 3, batchSize: 32, learningRate: 3e-3, validationSplit: 0.25 });
const meanError = (model: Autoencoder, set: ImageSet) => reconstructionErrors(model, set).reduce((a, b) => a + b, 0) / set.count;

describe('each variant trains and round-trips through save/load', () => {
  for (const [name, input] of Object.entries(variants)) {
    it(name, async () => {
      const model = Autoencoder.create(parseModelSpec(input));
      const tensorsBefore = tf.memory().numTensors;
      const before = meanError(model, images);
      const result = await trainAutoencoder(model, images, options);
      expect(tf.memory().numTensors).toBe(tensorsBefore);
      expect(result.history).toHaveLength(3);
      expect(meanError(model, images)).toBeLessThan(before * 0.9);
      expect(result.history[2]!.valLoss!).toBeLessThan(result.history[0]!.valLoss!);

      const path = join(dir, name.replace(/\W+/g, '-'));
      await saveModel(model, path, { history: result.history });
      const { model: loaded } = await loadModel(path);
      const sample = headImages(images, 16);
      expect(encodeImages(loaded, sample)).toEqual(encodeImages(model, sample));
      expect(reconstructImages(loaded, sample)).toEqual(reconstructImages(model, sample));
      model.dispose();
      loaded.dispose();
    });
  }
});

it('a stacked AE pretrains layer by layer, then its classifier beats chance', async () => {
  const model = Autoencoder.create(
    parseModelSpec({ arch: 'stacked', ...base, latentSize: 32, hidden: [64], classes: 10, activation: 'relu', latentActivation: 'relu' }),
  );
  const result = await trainStacked(model, images, { ...options, epochs: 4, learningRate: 3e-3 });
  expect(result.history.filter((h) => h.phase === 'pretrain')).toHaveLength(8);
  expect(result.history.filter((h) => h.phase === 'finetune')).toHaveLength(4);
  expect(result.valAccuracy).toBeGreaterThan(0.3); // 10 balanced classes: chance is 0.1
  const path = join(dir, 'stacked');
  await saveModel(model, path);
  const { model: loaded } = await loadModel(path);
  const x = tf.tensor4d(images.pixels.subarray(0, 8 * 784), [8, 28, 28, 1]).div(255) as tf.Tensor4D;
  expect(loaded.classify(x).arraySync()).toEqual(model.classify(x).arraySync());
  tf.dispose(x);
  model.dispose();
  loaded.dispose();
});

it('the same seed on the same backend repeats a run exactly', async () => {
  const spec = parseModelSpec(variants['conv, stride, transposed']!);
  const run = async () => {
    const model = Autoencoder.create(spec);
    const r = await trainAutoencoder(model, images, { ...options, epochs: 1 });
    model.dispose();
    return r.history.map((h) => [h.loss, h.valLoss]);
  };
  expect(await run()).toEqual(await run());
});

it('early stopping stops when validation loss stalls and keeps the best epoch', async () => {
  const model = Autoencoder.create(parseModelSpec(variants['dense undercomplete']!));
  const result = await trainAutoencoder(model, images, { ...options, epochs: 10, earlyStopping: { patience: 1, minDelta: 10 } });
  expect(result.stoppedEarly).toBe(true);
  expect(result.history).toHaveLength(2);
  expect(result.bestEpoch).toBe(1);
  model.dispose();
});

it('an AbortSignal cancels training with a typed error and leaks nothing', async () => {
  const model = Autoencoder.create(parseModelSpec(variants['conv, max pooling, nearest']!));
  const tensorsBefore = tf.memory().numTensors;
  const controller = new AbortController();
  const error = await trainAutoencoder(model, images, options, {
    signal: controller.signal,
    onProgress: (p) => {
      if (p.batch === 2) controller.abort();
    },
  }).catch((e: unknown) => e);
  expect(isAppError(error, 'cancelled')).toBe(true);
  expect(tf.memory().numTensors).toBe(tensorsBefore);
  model.dispose();
});

it('a denoising AE denoises: its output is closer to the clean image than the noisy input is', async () => {
  const more = await loadFashionMnist('train', { limit: 1500 });
  const model = Autoencoder.create(
    parseModelSpec({
      arch: 'conv',
      ...base,
      latentSize: 32,
      filters: [16, 32],
      downsample: 'stride',
      upsampling: 'transposed',
      denoising: { noiseFactor: 0.5 },
    }),
  );
  await trainAutoencoder(model, more, { ...options, epochs: 3 });
  const sample = headImages(await loadFashionMnist('test', { limit: 64 }), 64);
  const { noisy, denoised } = denoiseImages(model, sample, { noiseFactor: 0.5 });
  const mse = (a: Float32Array) => a.reduce((s, v, i) => s + (v - sample.pixels[i]! / 255) ** 2, 0) / a.length;
  expect(mse(denoised)).toBeLessThan(mse(noisy) / 2);
  expect(decodeCodes(model, encodeImages(model, sample)).length).toBe(64 * 784);
  model.dispose();
});

it('refuses images of the wrong shape with a clear error', () => {
  const model = Autoencoder.create(parseModelSpec({ arch: 'dense', inputShape: [32, 32, 1], latentSize: 4 }));
  expect(() => encodeImages(model, images)).toThrow(/images are 28×28×1 but the model expects 32×32×1/);
  model.dispose();
});

describe('the two-view objective', () => {
  it('weight 0 trains exactly the plain autoencoder', async () => {
    const plain = Autoencoder.create(parseModelSpec({ arch: 'conv', ...base, filters: [8, 16] }));
    const off = Autoencoder.create(parseModelSpec({ arch: 'conv', ...base, filters: [8, 16], contrastive: { weight: 0 } }));
    const small = headImages(images, 96);
    const opts = trainOptionsSchema.parse({ epochs: 2, batchSize: 32, validationSplit: 0.25 });
    const a = await trainAutoencoder(plain, small, opts);
    const b = await trainAutoencoder(off, small, opts);
    expect(b.history.map((h) => [h.loss, h.valLoss, h.parts])).toEqual(a.history.map((h) => [h.loss, h.valLoss, h.parts]));
    const weights = off.readWeights();
    for (const [name, values] of plain.readWeights()) expect(weights.get(name)).toEqual(values);
    plain.dispose();
    off.dispose();
  });

  it('reports its reconstruction and contrastive parts and moves the projection head', async () => {
    const model = Autoencoder.create(parseModelSpec({ arch: 'conv', ...base, filters: [8, 16], contrastive: { views: 'garment' } }));
    const head = model.projectionParams.map((v) => v.dataSync().slice());
    const result = await trainAutoencoder(
      model,
      headImages(images, 64),
      trainOptionsSchema.parse({ epochs: 1, batchSize: 32, validationSplit: 0 }),
    );
    const parts = result.history[0]!.parts!;
    expect(Object.keys(parts).sort()).toEqual(['contrastive', 'reconstruction']);
    expect(result.history[0]!.loss).toBeCloseTo(parts.reconstruction! + parts.contrastive!, 4);
    model.projectionParams.forEach((v, i) => expect(v.dataSync()).not.toEqual(head[i]));
    model.dispose();
  });

  it('is sharded across replicas only when each share keeps enough images to compare', () => {
    const twoViews = parseModelSpec({ arch: 'conv', ...base, contrastive: {} });
    expect(() => refuseShardedTwoViews(twoViews, 100, 2)).toThrow(/batches of 128 or more \(got 100\)/);
    expect(() => refuseShardedTwoViews(twoViews, 128, 2)).not.toThrow();
    expect(shardsTwoViews(twoViews, 255, 4)).toBe(false);
    expect(shardsTwoViews(twoViews, 256, 4)).toBe(true);
    expect(shardsTwoViews(parseModelSpec({ arch: 'conv', ...base, contrastive: { weight: 0 } }), 2, 2)).toBe(true);
    expect(shardsTwoViews(parseModelSpec({ arch: 'conv', ...base }), 2, 2)).toBe(true);
  });
});
