/**
 * Worker threads: encoding across workers equals encoding here, and data-parallel training
 * matches single-thread training (same batches, summed gradients), reports progress, stops
 * early and cancels. The two-view objective is sharded: each replica's loss over its share, with
 * the same views as this thread would draw.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFashionMnist } from '../../../../lib/data/fashion-mnist';
import { isAppError } from '../../../../lib/errors';
import { Autoencoder } from '../../../../lib/models/autoencoder';
import type { ImageSet } from '../../../../lib/data/image-set';
import { encodeImages } from '../../../../lib/models/inference';
import { reconstructionObjective, trainAutoencoder, trainOptionsSchema } from '../../../../lib/models/train';
import { shuffledIndices } from '../../../../lib/random';
import { tf } from '../../../../lib/engine/tf';
import { splitIndices, stepSeed, type StepContext, type TrainProgress } from '../../../../lib/training/fit';
import { ModelWorkerPool } from '../../../../lib/engine/parallel/worker-pool';
import { startWasm } from '../../../helpers/engine';
import { tinyConvSpec } from '../../../helpers/models';

const spec = tinyConvSpec();
const options = trainOptionsSchema.parse({ epochs: 2, batchSize: 64, learningRate: 2e-3, validationSplit: 0.2 });
let images: ImageSet;
let pool: ModelWorkerPool;
let model: Autoencoder;

beforeAll(async () => {
  await startWasm();
  images = await loadFashionMnist('train', { limit: 1000 });
  model = Autoencoder.create(spec);
  pool = await ModelWorkerPool.start(model, 2, 'wasm');
});
afterAll(async () => {
  await pool.close();
  model.dispose();
});

describe('ModelWorkerPool', () => {
  it('encodes across workers exactly as this thread does', async () => {
    const latents = await pool.encode(images, model.latentSize, { chunk: 300 });
    expect(latents).toEqual(encodeImages(model, images));
  });

  it('trains data-parallel to the same losses as one thread, with progress', async () => {
    const single = Autoencoder.create(spec);
    const reference = await trainAutoencoder(single, images, options);
    const progress: TrainProgress[] = [];
    const result = await pool.train(model, images, options, { onProgress: (p) => progress.push(p) });
    expect(result.history).toHaveLength(2);
    for (const [i, epoch] of result.history.entries()) {
      expect(epoch.loss).toBeCloseTo(reference.history[i]!.loss, 3);
      expect(epoch.valLoss!).toBeCloseTo(reference.history[i]!.valLoss!, 3);
    }
    expect(result.history[1]!.valLoss!).toBeLessThan(result.history[0]!.valLoss!);
    expect(progress.filter((p) => p.valLoss === null)).toHaveLength(2 * Math.ceil(800 / 64));
    // The main thread's model now holds the trained weights.
    const trained = encodeImages(model, images);
    expect(trained).not.toEqual(encodeImages(Autoencoder.create(spec), images));
    single.dispose();
  });

  it('stops early when validation loss stalls and leaves the best epoch in the model, not the last', async () => {
    const start = Autoencoder.create(spec).readWeights();
    const run = async (extra: Partial<typeof options>) => {
      const m = Autoencoder.create(spec);
      m.writeWeights(start);
      await pool.syncWeights(m);
      const result = await pool.train(m, images, { ...options, ...extra });
      const weights = m.readWeights();
      m.dispose();
      return { result, weights };
    };
    const one = await run({ epochs: 1 });
    const two = await run({ epochs: 2 });
    // minDelta 10: no epoch after the first counts as better, so patience 1 stops after epoch 2.
    const stopped = await run({ epochs: 10, earlyStopping: { patience: 1, minDelta: 10 } });
    expect(stopped.result.stoppedEarly).toBe(true);
    expect(stopped.result.history).toHaveLength(2);
    expect(stopped.result.bestEpoch).toBe(1);
    expect(stopped.result.history.map((h) => h.loss)).toEqual(two.result.history.map((h) => h.loss));
    expect(two.weights.get('enc/latent/kernel')).not.toEqual(one.weights.get('enc/latent/kernel'));
    for (const [name, value] of one.weights) expect(stopped.weights.get(name), name).toEqual(value);
  });

  it('cancels within a step and stays usable', async () => {
    const controller = new AbortController();
    const error = await pool
      .train(model, images, options, {
        signal: controller.signal,
        onProgress: (p) => {
          if (p.batch === 3) controller.abort();
        },
      })
      .catch((e: unknown) => e);
    expect(isAppError(error, 'cancelled')).toBe(true);
    const again = await pool.train(model, images, { ...options, epochs: 1 });
    expect(again.history).toHaveLength(1);
  });

  it('shards the two-view objective: the step loss is the mean of the shares’ own losses, views drawn as here', async () => {
    const twoViews = tinyConvSpec({ contrastive: { views: 'garment' } });
    const run = trainOptionsSchema.parse({ epochs: 1, batchSize: 256, validationSplit: 0, seed: 3 });
    const m = Autoencoder.create(twoViews);
    const here = Autoencoder.create(twoViews);
    here.writeWeights(m.readWeights());
    // The first step's batch and seed, as the driver draws them.
    const train = splitIndices(images.count, 0, run.seed).train;
    const order = shuffledIndices(train.length, run.seed + 1);
    const batch = Int32Array.from({ length: 256 }, (_, k) => train[order[k]!]!);
    const objective = reconstructionObjective(here, images);
    const shareLoss = (start: number, end: number) => {
      const ctx: StepContext = {
        indices: batch.subarray(start, end),
        epoch: 1,
        step: 0,
        progress: 0,
        seed: stepSeed(run.seed, 0),
        stream: 0,
        offset: start,
        training: true,
      };
      return tf.tidy(() => objective.loss(ctx).total.dataSync()[0]!);
    };
    const whole = shareLoss(0, 256);
    const sharded = (shareLoss(0, 128) + shareLoss(128, 256)) / 2;
    const progress: TrainProgress[] = [];
    const pooled = Autoencoder.create(twoViews);
    pooled.writeWeights(m.readWeights());
    await pool.syncWeights(pooled);
    await pool.train(pooled, images, run, { onProgress: (p) => progress.push(p) });
    expect(progress[0]!.loss).toBeCloseTo(sharded, 4);
    // Half the negatives make a different (smaller) NT-Xent than the whole batch's.
    expect(Math.abs(progress[0]!.loss - whole)).toBeGreaterThan(0.05);
    expect(Object.keys(progress[0]!.parts!).sort()).toEqual(['contrastive', 'reconstruction']);
    for (const x of [m, here, pooled]) x.dispose();
    await pool.syncWeights(model);
  });

  it('refuses two-view shares too small to compare', async () => {
    const twoViews = Autoencoder.create(tinyConvSpec({ contrastive: { views: 'garment' } }));
    const error = await pool
      .train(twoViews, images, trainOptionsSchema.parse({ epochs: 1, batchSize: 64, validationSplit: 0 }))
      .catch((e: unknown) => e);
    expect(isAppError(error, 'invalid_input')).toBe(true);
    expect((error as Error).message).toMatch(/batches of 128 or more/);
    twoViews.dispose();
  });
});
