/**
 * The search head: fitted PCA rotation + σ^-whiten scaling + L2 normalisation of the codes.
 * Full whitening gives the fitted codes zero mean and identity covariance; no whitening is a pure
 * rotation (distances kept); every search vector has unit length; the head survives save/load and
 * the worker threads; a model without one searches with its raw codes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFashionMnist } from '../../../lib/data/fashion-mnist';
import { tf, type Tensor2D } from '../../../lib/engine/tf';
import { Autoencoder, HEAD_MEAN, HEAD_PROJECTION } from '../../../lib/models/autoencoder';
import { headImages, type ImageSet } from '../../../lib/data/image-set';
import { embedImages, encodeImages } from '../../../lib/models/inference';
import { loadModel, saveModel } from '../../../lib/models/model-io';
import { fitSearchHead } from '../../../lib/models/search-head';
import { parseModelSpec } from '../../../lib/models/spec';
import { ModelWorkerPool } from '../../../lib/engine/parallel/worker-pool';
import { startWasm } from '../../helpers/engine';

const base = { arch: 'conv', inputShape: [28, 28, 1], latentSize: 8, filters: [4, 8], downsample: 'stride', upsampling: 'transposed' };
const specWith = (whiten: number) => parseModelSpec({ ...base, embedding: { whiten } });
let images: ImageSet;
let dir: string;

beforeAll(async () => {
  await startWasm();
  images = await loadFashionMnist('train', { limit: 600 });
  dir = await mkdtemp(join(tmpdir(), 'search-head-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** The head's output before normalisation: (code − mean)·P. */
function projected(model: Autoencoder, set: ImageSet): Float32Array {
  const codes = encodeImages(model, set);
  return tf.tidy(() => {
    const code = tf.tensor2d(codes, [set.count, model.latentSize]);
    return tf.matMul(tf.sub(code, model.p(HEAD_MEAN)), model.p(HEAD_PROJECTION)).dataSync() as Float32Array;
  });
}

function covariance(rows: Float32Array, n: number, d: number): { mean: number[]; cov: number[][] } {
  const mean = Array.from({ length: d }, (_, j) => {
    let s = 0;
    for (let i = 0; i < n; i++) s += rows[i * d + j]!;
    return s / n;
  });
  const cov = Array.from({ length: d }, (_, a) =>
    Array.from({ length: d }, (_, b) => {
      let s = 0;
      for (let i = 0; i < n; i++) s += (rows[i * d + a]! - mean[a]!) * (rows[i * d + b]! - mean[b]!);
      return s / (n - 1);
    }),
  );
  return { mean, cov };
}

const norms = (v: Float32Array, d: number) => Array.from({ length: v.length / d }, (_, i) => Math.hypot(...v.subarray(i * d, (i + 1) * d)));

describe('search head', () => {
  it('is the identity, then L2 normalisation, until fitted; a model without one embeds its raw codes', () => {
    const plain = Autoencoder.create(parseModelSpec(base));
    const headed = Autoencoder.create(specWith(0.5));
    const set = headImages(images, 20);
    expect(embedImages(plain, set)).toEqual(encodeImages(plain, set));
    const codes = encodeImages(headed, set);
    const unit = embedImages(headed, set);
    const d = headed.latentSize;
    for (let i = 0; i < set.count; i++) {
      const n = Math.hypot(...codes.subarray(i * d, (i + 1) * d));
      for (let j = 0; j < d; j++) expect(unit[i * d + j]).toBeCloseTo(codes[i * d + j]! / n, 5);
    }
    plain.dispose();
    headed.dispose();
  });

  it('with whiten 1 gives the fitted codes zero mean and identity covariance; every vector has unit length', () => {
    const model = Autoencoder.create(specWith(1));
    fitSearchHead(model, images);
    const d = model.latentSize;
    const { mean, cov } = covariance(projected(model, images), images.count, d);
    for (let a = 0; a < d; a++) {
      expect(mean[a]).toBeCloseTo(0, 3);
      for (let b = 0; b < d; b++) expect(cov[a]![b]).toBeCloseTo(a === b ? 1 : 0, 2);
    }
    for (const n of norms(embedImages(model, images), d)) expect(n).toBeCloseTo(1, 5);
    model.dispose();
  });

  it('with whiten 0 only rotates: distances between centred codes are kept', () => {
    const model = Autoencoder.create(specWith(0));
    fitSearchHead(model, images);
    const d = model.latentSize;
    const set = headImages(images, 30);
    const codes = encodeImages(model, set);
    const rotated = projected(model, set);
    const distance = (v: Float32Array, i: number, j: number) =>
      Math.hypot(...Array.from({ length: d }, (_, k) => v[i * d + k]! - v[j * d + k]!));
    for (const [i, j] of [
      [0, 1],
      [2, 17],
      [5, 29],
    ] as const)
      expect(distance(rotated, i, j)).toBeCloseTo(distance(codes, i, j), 3);
    // Whitening changes them: the top axis is shrunk relative to the last.
    const whitened = Autoencoder.create(specWith(1));
    whitened.writeWeights(model.readWeights());
    fitSearchHead(whitened, images);
    expect(distance(projected(whitened, set), 0, 1)).not.toBeCloseTo(distance(codes, 0, 1), 1);
    model.dispose();
    whitened.dispose();
  });

  it('fits on fewer images than dimensions: the unseen directions map to zero, vectors stay finite', () => {
    const model = Autoencoder.create(specWith(0.5));
    const few = headImages(images, 5);
    fitSearchHead(model, few);
    const d = model.latentSize;
    const projection = model.p(HEAD_PROJECTION).dataSync();
    for (let r = 0; r < d; r++) for (let c = 4; c < d; c++) expect(projection[r * d + c]).toBe(0);
    const out = embedImages(model, headImages(images, 50));
    expect(out.every(Number.isFinite)).toBe(true);
    for (const n of norms(out, d)) expect(n).toBeCloseTo(1, 5);
    expect(() => fitSearchHead(model, headImages(images, 1))).toThrow(/at least 2 images/);
    const plain = Autoencoder.create(parseModelSpec(base));
    expect(() => fitSearchHead(plain, few)).toThrow(/no search head/);
    model.dispose();
    plain.dispose();
  });

  it('survives save and load, and the worker threads embed exactly as this thread does', async () => {
    const model = Autoencoder.create(specWith(0.5));
    fitSearchHead(model, images);
    await saveModel(model, join(dir, 'headed'));
    const { model: loaded } = await loadModel(join(dir, 'headed'));
    expect(embedImages(loaded, images)).toEqual(embedImages(model, images));
    const pool = await ModelWorkerPool.start(loaded, 2, 'wasm');
    try {
      expect(await pool.encode(images, loaded.latentSize, { chunk: 250, embed: true })).toEqual(embedImages(loaded, images));
      expect(await pool.encode(images, loaded.latentSize, { chunk: 250 })).toEqual(encodeImages(loaded, images));
    } finally {
      await pool.close();
    }
    // Training never touches the head: it is not among the autoencoder's trainable parameters.
    const head = [model.p(HEAD_MEAN), model.p(HEAD_PROJECTION)] as unknown as Tensor2D[];
    for (const v of head) expect(model.autoencoderParams).not.toContain(v);
    model.dispose();
    loaded.dispose();
  });
});

describe('mirror test-time augmentation', () => {
  it('a picture and its mirror image get the same search vector; without it they differ', () => {
    const sample = headImages(images, 8);
    const mirrored = tf.tidy(() => {
      const x = tf.tensor4d(
        Float32Array.from(sample.pixels, (v) => v / 255),
        [8, 28, 28, 1],
      );
      return tf.reverse(x, 2).dataSync() as Float32Array;
    });
    const flipped: ImageSet = { ...sample, pixels: mirrored };
    const run = (mirror: boolean) => {
      const model = Autoencoder.create(parseModelSpec({ ...base, embedding: { whiten: 0.5, mirror } }));
      fitSearchHead(model, images);
      const result = [embedImages(model, sample), embedImages(model, flipped)];
      model.dispose();
      return result;
    };
    const [a, b] = run(true);
    a!.forEach((v, i) => expect(v).toBeCloseTo(b![i]!, 5));
    const [c, d] = run(false);
    expect(Math.max(...c!.map((v, i) => Math.abs(v - d![i]!)))).toBeGreaterThan(1e-3);
  });
});
