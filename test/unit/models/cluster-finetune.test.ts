/**
 * The clustering fine-tune (IDEC): its loss has gradients on the wasm engine that match the cpu
 * backend, and on a few hundred Fashion-MNIST images it descends KL(P‖Q) for its target P,
 * leaks no tensors and round-trips the centres through save/load; on worker threads it takes the
 * same steps. A two-view objective in the spec stays on during the fine-tune.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFashionMnist } from '../../../lib/data/fashion-mnist';
import { tf } from '../../../lib/engine/tf';
import { isAppError } from '../../../lib/errors';
import { Autoencoder, CENTERS } from '../../../lib/models/autoencoder';
import {
  centreMargins,
  ClusterTargets,
  confidentSubset,
  finetuneClusters,
  initCenters,
  pseudoLabelTargets,
  softAssignCodes,
  targetFromAssignments,
} from '../../../lib/models/cluster-finetune';
import { encodeImages } from '../../../lib/models/inference';
import type { ImageSet } from '../../../lib/data/image-set';
import { clusteringKl, softAssignments, targetDistribution } from '../../../lib/models/losses';
import { loadModel, saveModel } from '../../../lib/models/model-io';
import { parseModelSpec } from '../../../lib/models/spec';
import { trainAutoencoder, trainOptionsSchema } from '../../../lib/models/train';
import type { TrainProgress } from '../../../lib/training/fit';
import { ModelWorkerPool } from '../../../lib/engine/parallel/worker-pool';
import { onBackend, relativeError, startWasm } from '../../helpers/engine';
import { tinyConvSpec } from '../../helpers/models';

let images: ImageSet;
let dir: string;

beforeAll(async () => {
  await startWasm();
  images = await loadFashionMnist('train', { limit: 256 });
  dir = await mkdtemp(join(tmpdir(), 'latent-atlas-dec-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const spec = tinyConvSpec({
  latentSize: 8,
  // gamma 1: on 256 images the clustering term must not drown in the reconstruction's.
  clustering: { clusters: 4, gamma: 1 },
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

describe('fixed targets (self-labelling)', () => {
  it('labels the share of each cluster closest to its centre', () => {
    const assignments = Int32Array.from([0, 0, 0, 0, 1, 1, 1, 2]);
    const confidence = Float32Array.from([-1, -5, -2, -9, -3, -1, -4, -7]);
    // Cluster 0 keeps 2 of 4 (images 0, 2), cluster 1 2 of 3 (5, 4: ceil 1.5), cluster 2 its only image.
    expect(Array.from(confidentSubset(assignments, confidence, 3, 0.5))).toEqual([1, 0, 1, 0, 1, 1, 0, 1]);
    expect(Array.from(confidentSubset(assignments, confidence, 3, 1))).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
    expect(Array.from(confidentSubset(assignments, confidence, 3, 0.01))).toEqual([1, 0, 0, 0, 0, 1, 0, 1]);
  });

  it('measure confidence as the margin between the nearest other centre and the own one', () => {
    // Centres at (0, 0) and (10, 0); the point at (6, 0) is assigned to the farther centre.
    const points = Float32Array.from([1, 0, 6, 0, 9, 0]);
    const margins = centreMargins(points, 2, [0, 0, 10, 0], Int32Array.from([0, 0, 1]));
    expect(Array.from(margins)).toEqual([8, -2, 8]);
  });

  it('are one-hot rows for labelled images, zero rows for the rest, and do not move with Q', () => {
    const assignments = Int32Array.from([2, 0, 1]);
    const labelled = Uint8Array.from([1, 0, 1]);
    expect(Array.from(pseudoLabelTargets(assignments, labelled, 3))).toEqual([0, 0, 1, 0, 0, 0, 0, 1, 0]);
    const targets = new ClusterTargets(3, 0, { assignments, labelled });
    const q = Float32Array.from([0.2, 0.3, 0.5, 0.6, 0.3, 0.1, 0.1, 0.1, 0.8]);
    targets.update(q);
    const rows = targets.rows([0, 1, 2]);
    expect(Array.from(rows.dataSync())).toEqual([0, 0, 1, 0, 0, 0, 0, 1, 0]);
    rows.dispose();
    // KL(P‖Q) of one-hot rows: −log q of the labelled images' own cluster, over all images.
    expect(targets.state.klEnd).toBeCloseTo(-(Math.log(0.5) + Math.log(0.1)) / 3, 6);
    // Image 2 moved from cluster 1 to 2 by argmax Q.
    expect(targets.state.changed).toBeCloseTo(1 / 3, 6);
    expect(targets.sizes()).toEqual([1, 0, 2]);
  });
  it('teach the codes the starting partition: the labelled codes gather round their own centres', async () => {
    const model = Autoencoder.create(spec);
    const options = trainOptionsSchema.parse({
      epochs: 3,
      batchSize: 32,
      learningRate: 3e-3,
      validationSplit: 0,
      clustering: { epochs: 8, batchSize: 32, updateInterval: 1000, tolerance: 0, restarts: 2, target: 'fixed', confident: 0.5 },
    });
    await trainAutoencoder(model, images, options);
    const before = model.readWeights();
    const start = await initCenters(model, encodeImages(model, images), options.seed, { restarts: 2, init: 'umap', balanced: false });
    const labelled = confidentSubset(start.assignments, start.confidence, 4, 0.5);
    /** Labelled codes' mean squared distance to their own centre over all codes' variance, and the share nearest their own centre. */
    const gathering = () => {
      const codes = encodeImages(model, images);
      const centres = model.p(CENTERS).dataSync();
      const d = 8;
      const mean = Array.from({ length: d }, (_, j) => codes.filter((_, i) => i % d === j).reduce((a, b) => a + b, 0) / images.count);
      let within = 0;
      let total = 0;
      let nearestOwn = 0;
      for (let i = 0; i < images.count; i++) {
        const distances = [0, 1, 2, 3].map((c) =>
          Array.from({ length: d }, (_, j) => (codes[i * d + j]! - centres[c * d + j]!) ** 2).reduce((a, b) => a + b),
        );
        for (let j = 0; j < d; j++) total += (codes[i * d + j]! - mean[j]!) ** 2 / images.count;
        if (!labelled[i]) continue;
        within += distances[start.assignments[i]!]!;
        if (distances.indexOf(Math.min(...distances)) === start.assignments[i]) nearestOwn++;
      }
      const count = labelled.reduce((a, b) => a + b, 0);
      return { ratio: within / count / total, nearestOwn: nearestOwn / count };
    };
    const first = gathering();
    model.writeWeights(before);
    await finetuneClusters(model, images, options);
    const last = gathering();
    expect(last.ratio).toBeLessThan(0.85 * first.ratio);
    expect(last.nearestOwn).toBeGreaterThanOrEqual(Math.min(first.nearestOwn, 0.95));
    model.dispose();
  });
});

describe('finetuneClusters', () => {
  it('lowers KL(P‖Q) for its target P, leaks nothing, and the centres round-trip', async () => {
    const model = Autoencoder.create(spec);
    const options = trainOptionsSchema.parse({
      epochs: 2,
      batchSize: 32,
      learningRate: 1e-3,
      validationSplit: 0,
      // One target update (at the first step), so every step descends the same KL(P‖Q).
      clustering: { epochs: 3, batchSize: 32, updateInterval: 1000, tolerance: 0, restarts: 2, init: 'kmeans' },
    });
    await trainAutoencoder(model, images, options);
    // The fine-tune's own start: the same seeded k-means centres, hence the same P.
    const before = model.readWeights();
    await initCenters(model, encodeImages(model, images), options.seed, { restarts: 2, init: 'kmeans', balanced: false });
    const q0 = softAssignCodes(model, encodeImages(model, images));
    const p0 = targetFromAssignments(q0, 4);
    const kl = (q: Float32Array) => p0.reduce((sum, p, i) => sum + p * Math.log(p / q[i]!), 0) / images.count;
    model.writeWeights(before);

    const tensorsBefore = tf.memory().numTensors;
    const result = await finetuneClusters(model, images, options);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    const summary = result.clustering!;
    expect(result.history.map((h) => h.phase)).toEqual(['cluster', 'cluster', 'cluster']);
    expect(summary.steps).toBe(3 * 8);
    expect(summary.updates).toBe(1);
    expect(summary.klStart).toBeCloseTo(kl(q0), 4);
    expect(kl(softAssignCodes(model, encodeImages(model, images)))).toBeLessThan(0.9 * kl(q0));
    expect(summary.sizes.reduce((a, b) => a + b, 0)).toBe(256);

    const path = join(dir, 'dec');
    await saveModel(model, path);
    const { model: loaded } = await loadModel(path);
    expect(loaded.p(CENTERS).dataSync()).toEqual(model.p(CENTERS).dataSync());
    expect(softAssignCodes(loaded, encodeImages(loaded, images))).toEqual(softAssignCodes(model, encodeImages(model, images)));
    model.dispose();
    loaded.dispose();
  });

  it('keeps a two-view objective of the spec: its parts are reported and its projection head trains; weight 0 is the plain fine-tune', async () => {
    const options = trainOptionsSchema.parse({
      epochs: 0,
      batchSize: 64,
      validationSplit: 0,
      clustering: { epochs: 1, batchSize: 64, updateInterval: 1000, tolerance: 0, restarts: 2, init: 'kmeans', target: 'fixed' },
    });
    const views = Autoencoder.create(
      tinyConvSpec({ latentSize: 8, clustering: { clusters: 4, gamma: 1 }, contrastive: { views: 'garment' } }),
    );
    const head = views.projectionParams.map((v) => v.dataSync().slice());
    const tensorsBefore = tf.memory().numTensors;
    const withViews = await finetuneClusters(views, images, options);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    const parts = withViews.history[0]!.parts!;
    expect(Object.keys(parts).sort()).toEqual(['clustering', 'contrastive', 'reconstruction']);
    // gamma 1, weight 1: the loss is the sum of its parts.
    expect(withViews.history[0]!.loss).toBeCloseTo(parts.reconstruction! + parts.clustering! + parts.contrastive!, 4);
    expect(parts.contrastive!).toBeGreaterThan(0);
    views.projectionParams.forEach((v, i) => expect(v.dataSync()).not.toEqual(head[i]));

    const plain = Autoencoder.create(spec);
    const off = Autoencoder.create(tinyConvSpec({ latentSize: 8, clustering: { clusters: 4, gamma: 1 }, contrastive: { weight: 0 } }));
    const a = await finetuneClusters(plain, images, options);
    const b = await finetuneClusters(off, images, options);
    expect(b.history.map((h) => [h.loss, h.parts])).toEqual(a.history.map((h) => [h.loss, h.parts]));
    expect(off.p(CENTERS).dataSync()).toEqual(plain.p(CENTERS).dataSync());
    for (const m of [views, plain, off]) m.dispose();
  });

  it('runs data-parallel on two worker threads with the same steps and losses as one thread', async () => {
    const options = trainOptionsSchema.parse({
      epochs: 1,
      batchSize: 64,
      validationSplit: 0,
      clustering: { epochs: 2, batchSize: 64, updateInterval: 3, tolerance: 0, restarts: 2, init: 'kmeans' },
    });
    const here = Autoencoder.create(spec);
    await trainAutoencoder(here, images, options);
    const there = Autoencoder.create(spec);
    there.writeWeights(here.readWeights());
    const reference = await finetuneClusters(here, images, options);
    const pool = await ModelWorkerPool.start(there, 2, 'wasm');
    try {
      const progress: TrainProgress[] = [];
      const result = await finetuneClusters(
        there,
        images,
        options,
        { onProgress: (p) => progress.push(p) },
        {
          encode: (m, s) => pool.encode(s, m.latentSize),
          fit: (m, s, o, h, start) => pool.fitClusters(m, s, o, h, start),
        },
      );
      expect(result.clustering!.steps).toBe(reference.clustering!.steps);
      expect(result.clustering!.updates).toBe(reference.clustering!.updates);
      for (const [i, epoch] of result.history.entries()) expect(epoch.loss).toBeCloseTo(reference.history[i]!.loss, 4);
      expect(progress.filter((p) => p.phase === 'cluster' && p.epochDone)).toHaveLength(2);
      expect(relativeError(there.p(CENTERS).dataSync(), here.p(CENTERS).dataSync())).toBeLessThan(1e-3);
    } finally {
      await pool.close();
      here.dispose();
      there.dispose();
    }
  });

  it("init 'umap' starts every centre at the mean code of its N2D cluster", async () => {
    const model = Autoencoder.create(spec);
    const codes = encodeImages(model, images);
    const { assignments: partition, confidence } = await initCenters(model, codes, 42, { restarts: 2, init: 'umap', balanced: false });
    expect(confidence).toHaveLength(256);
    // Centre margins in the UMAP: most images sit nearer their own cluster's centre than any other.
    expect(confidence.filter((m) => m > 0).length).toBeGreaterThan(128);
    expect(partition).toHaveLength(256);
    const centers = model.p(CENTERS).dataSync();
    for (let c = 0; c < 4; c++) {
      const members = [...partition.keys()].filter((i) => partition[i] === c);
      if (members.length === 0) continue;
      const mean = Array.from({ length: 8 }, (_, j) => members.reduce((sum, i) => sum + codes[i * 8 + j]!, 0) / members.length);
      expect(relativeError(centers.subarray(c * 8, (c + 1) * 8), mean)).toBeLessThan(1e-5);
    }
    expect(new Set(partition).size).toBeGreaterThan(1);
    model.dispose();
  });

  it('refuses a model without a clustering head', async () => {
    const plain = Autoencoder.create(parseModelSpec({ ...spec, clustering: undefined }));
    const error = await finetuneClusters(plain, images, trainOptionsSchema.parse({})).catch((e: unknown) => e);
    expect(isAppError(error) && error.code).toBe('invalid_input');
    plain.dispose();
  });
});
