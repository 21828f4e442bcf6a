/**
 * The segmentation model family: every variant builds with the right output shapes, a seeded
 * training step lowers the loss, predictions come back at the picture's own size, weights
 * round-trip through save/load, and no call leaks tensors. Tiny synthetic pairs: a bright square
 * (the foreground) on a dark noisy background.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SegmentationSet } from '../../../lib/segmentation/segmentation-folder';
import { tf, type Tensor4D } from '../../../lib/engine/tf';
import { isAppError } from '../../../lib/errors';
import { diceLoss, sigmoidCrossEntropy, binaryCrossEntropy } from '../../../lib/models/losses';
import { saveModel } from '../../../lib/models/model-io';
import { Autoencoder } from '../../../lib/models/autoencoder';
import { parseModelSpec } from '../../../lib/models/spec';
import { evaluateSegmenter, predictProbabilities, segmentImage } from '../../../lib/segmentation/segmentation-inference';
import { loadSegmenter, saveSegmenter } from '../../../lib/segmentation/segmentation-io';
import { parseSegmentationSpec, type SegmentationSpecInput } from '../../../lib/segmentation/segmentation-spec';
import { segmentationLoss, segmentationTrainOptionsSchema, trainSegmenter } from '../../../lib/segmentation/segmentation-train';
import { Segmenter } from '../../../lib/segmentation/segmenter';
import { seededRandom } from '../../../lib/random';
import { startWasm } from '../../helpers/engine';

const SIZE = 16;
const tiny = { inputShape: [SIZE, SIZE, 3] as [number, number, 3], filters: [4, 8], convsPerBlock: 1 };
let dir: string;

/** `count` pairs: a bright square at a seeded place on dark noise; the square is class 1 (mask 255). */
function squares(count: number, seed = 1): SegmentationSet {
  const random = seededRandom(seed);
  const pixels = new Uint8Array(count * SIZE * SIZE * 3);
  const labels = new Uint8Array(count * SIZE * SIZE);
  for (let n = 0; n < count; n++) {
    const x0 = Math.floor(random() * 8);
    const y0 = Math.floor(random() * 8);
    for (let y = 0; y < SIZE; y++) {
      for (let x = 0; x < SIZE; x++) {
        const inside = x >= x0 && x < x0 + 7 && y >= y0 && y < y0 + 7;
        labels[(n * SIZE + y) * SIZE + x] = inside ? 1 : 0;
        for (let c = 0; c < 3; c++) pixels[((n * SIZE + y) * SIZE + x) * 3 + c] = inside ? 200 + random() * 40 : random() * 60;
      }
    }
  }
  return { names: [], count, height: SIZE, width: SIZE, channels: 3, pixels, labels, maskValues: [0, 255], originals: null };
}

beforeAll(async () => {
  await startWasm();
  dir = await mkdtemp(join(tmpdir(), 'latent-atlas-seg-models-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const variants: Record<string, SegmentationSpecInput> = {
  'skips, bilinear': { ...tiny },
  'no skips': { ...tiny, skip: false },
  'skips, nearest, shallow path': { ...tiny, upsampling: 'nearest', shallow: { filters: 4 } },
  'no skips, transposed': { ...tiny, upsampling: 'transposed', skip: false },
  'three classes, softmax': { ...tiny, maskValues: [0, 1, 2] },
  'odd input size': { ...tiny, inputShape: [15, 13, 1] },
};

describe('the segmentation family', () => {
  for (const [name, input] of Object.entries(variants)) {
    it(`${name}: per-pixel probabilities at the input size, no tensors leaked`, () => {
      const spec = parseSegmentationSpec(input);
      const model = Segmenter.create(spec);
      const before = tf.memory().numTensors;
      const [h, w, c] = spec.inputShape;
      const probs = tf.tidy(() => model.predict(tf.randomUniform([2, h, w, c]) as Tensor4D).arraySync() as number[][][][]);
      const channels = spec.maskValues.length === 2 ? 1 : spec.maskValues.length;
      expect([probs.length, probs[0]!.length, probs[0]![0]!.length, probs[0]![0]![0]!.length]).toEqual([2, h, w, channels]);
      const pixel = probs[1]![h - 1]![w - 1]!;
      expect(Math.min(...pixel)).toBeGreaterThanOrEqual(0);
      if (channels > 1) expect(pixel.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
      expect(tf.memory().numTensors).toBe(before);
      model.dispose();
    });
  }

  it('skip connections add decoder inputs, so parameters; the spec can switch them off', () => {
    const withSkips = Segmenter.create(parseSegmentationSpec(tiny));
    const without = Segmenter.create(parseSegmentationSpec({ ...tiny, skip: false }));
    expect(withSkips.p('dec/conv0/kernel').shape).toEqual([3, 3, 8 + 4, 4]);
    expect(without.p('dec/conv0/kernel').shape).toEqual([3, 3, 8, 4]);
    expect(withSkips.parameterCount).toBeGreaterThan(without.parameterCount);
    withSkips.dispose();
    without.dispose();
  });

  it('refuses bad specs by name', () => {
    const message = (input: unknown) => {
      try {
        parseSegmentationSpec(input);
      } catch (error) {
        expect(isAppError(error, 'invalid_input')).toBe(true);
        return (error as Error).message;
      }
      throw new Error('expected an error');
    };
    expect(message({ filtrs: [4] })).toContain("unknown option 'filtrs'");
    expect(message({ maskValues: [1, 2] })).toContain('the first mask value must be 0');
    expect(message({ upsampling: 'cubic' })).toContain('upsampling');
    expect(message({ inputShape: [8, 8, 3], filters: [4, 8, 16, 32] })).toContain('too small for 4 poolings');
  });
});

describe('losses', () => {
  it('sigmoid cross-entropy from logits equals BCE on the sigmoid; Dice is 0 for a perfect map and near 1 for a disjoint one', () => {
    const value = (t: tf.Tensor) => tf.tidy(() => t.dataSync()[0]!);
    const z = tf.tensor4d([-3, -0.5, 0.2, 4], [1, 2, 2, 1]);
    const y = tf.tensor4d([0, 1, 0, 1], [1, 2, 2, 1]);
    expect(value(sigmoidCrossEntropy(z, y))).toBeCloseTo(value(binaryCrossEntropy(tf.sigmoid(z), y)), 5);
    const mask = tf.tensor4d([0, 0, 1, 1, 1, 1, 0, 0], [1, 2, 4, 1]);
    const inverse = tf.tensor4d([1, 1, 0, 0, 0, 0, 1, 1], [1, 2, 4, 1]);
    expect(value(diceLoss(mask, mask))).toBeCloseTo(1 - 9 / 9, 6);
    expect(value(diceLoss(inverse, mask))).toBeCloseTo(1 - 1 / 9, 6);
    tf.dispose([z, y, mask, inverse]);
  });
});

describe('training and inference', () => {
  const options = segmentationTrainOptionsSchema.parse({
    epochs: 1,
    batchSize: 8,
    learningRate: 1e-2,
    augment: { flip: true, minCrop: 0.8 },
  });

  it('one seeded training step lowers the loss, repeats exactly with the same seed, and leaks nothing', async () => {
    const set = squares(8);
    const all = Array.from({ length: set.count }, (_, i) => i);
    const run = async () => {
      // Without batch norm: its moving statistics need more than one step to settle.
      const model = Segmenter.create(parseSegmentationSpec({ ...tiny, loss: 'bce', batchNorm: false }));
      const before = segmentationLoss(model, set, all);
      const tensors = tf.memory().numTensors;
      const result = await trainSegmenter(model, set, options);
      expect(tf.memory().numTensors).toBe(tensors);
      expect(result.history).toHaveLength(1);
      const after = segmentationLoss(model, set, all);
      const weights = model.readWeights();
      model.dispose();
      return { before, after, weights };
    };
    const first = await run();
    expect(first.after).toBeLessThan(first.before);
    const second = await run();
    expect(second.weights.get('head/kernel')).toEqual(first.weights.get('head/kernel'));
  });

  it('a few epochs with batch norm learn the squares: test IoU well above the all-background guess, nothing leaked', async () => {
    const model = Segmenter.create(parseSegmentationSpec({ ...tiny, filters: [8, 16] }));
    const tensors = tf.memory().numTensors;
    await trainSegmenter(model, squares(32), { ...options, epochs: 12 });
    expect(tf.memory().numTensors).toBe(tensors);
    // Batch norm's moving statistics followed the batches (they start at mean 0, variance 1).
    expect(Math.abs(model.p('enc/block0/conv0/movingMean').dataSync()[0]!)).toBeGreaterThan(1e-3);
    const scores = evaluateSegmenter(model, squares(8, 99));
    expect(scores.iou[1]).toBeGreaterThan(0.5);
    expect(scores.pixel_acc).toBeGreaterThan(0.85);
    model.dispose();
  });

  it('segmentImage returns the mask at the picture’s own size with its area, without leaking tensors', async () => {
    const model = Segmenter.create(parseSegmentationSpec(tiny));
    const picture = await sharp(
      new Uint8Array(40 * 24 * 3).map((_, i) => (i * 13) % 256),
      { raw: { width: 40, height: 24, channels: 3 } },
    )
      .png()
      .toBuffer();
    const before = tf.memory().numTensors;
    const result = await segmentImage(model, picture);
    expect(tf.memory().numTensors).toBe(before);
    expect([result.width, result.height, result.channels]).toEqual([40, 24, 1]);
    expect(result.probabilities).toHaveLength(40 * 24);
    expect(result.mask).toHaveLength(40 * 24);
    expect(new Set(result.mask).size).toBeLessThanOrEqual(2);
    const foreground = result.mask.reduce((n, v) => n + (v === 255 ? 1 : 0), 0);
    expect(result.areaFraction).toBeCloseTo(foreground / (40 * 24), 12);
    expect(result.classFractions[0]! + result.classFractions[1]!).toBeCloseTo(1, 12);
    await expect(segmentImage(model, new TextEncoder().encode('<svg></svg>'))).rejects.toMatchObject({ code: 'unsupported' });
    model.dispose();
  });

  it('weights round-trip through save/load with identical predictions; an autoencoder is not mistaken for one', async () => {
    const model = Segmenter.create(parseSegmentationSpec({ ...tiny, shallow: { filters: 2 } }));
    const set = squares(3);
    await saveSegmenter(model, join(dir, 'seg'), { note: 'test' });
    const { model: loaded, manifest } = await loadSegmenter(join(dir, 'seg'));
    expect(manifest.training).toEqual({ note: 'test' });
    expect(predictProbabilities(loaded, set.pixels, set.count)).toEqual(predictProbabilities(model, set.pixels, set.count));
    loaded.dispose();
    model.dispose();
    const ae = Autoencoder.create(parseModelSpec({ arch: 'conv', inputShape: [8, 8, 1], latentSize: 4, filters: [2] }));
    await saveModel(ae, join(dir, 'ae'));
    ae.dispose();
    await expect(loadSegmenter(join(dir, 'ae'))).rejects.toMatchObject({ code: 'invalid_input' });
  });
});
