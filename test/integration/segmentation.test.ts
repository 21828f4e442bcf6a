/**
 * Segmentation end to end on real files: a generated image/mask folder with a split.csv is
 * trained on, scored on its test split, found among the saved models, used on an uploaded
 * picture (mask overlay PNG included), and compared with its no-skip twin and the baseline.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../lib/engine/tf';
import { encodeMaskOverlay } from '../../lib/images/mask-png';
import { seededRandom } from '../../lib/random';
import { segmentationTrainOptionsSchema } from '../../lib/segmentation/segmentation-train';
import {
  compareSegmentation,
  forgetSegmentationModels,
  latestSegmentationComparison,
  listSegmentationModels,
  openSegmentationModel,
  saveSegmentationComparison,
  segmentUpload,
  trainSegmentation,
  type SegmentationData,
} from '../../lib/services/segmentation-service';
import { startWasm } from '../helpers/engine';

let root: string;
let data: SegmentationData;
let modelsDir: string;
const spec = { inputShape: [16, 16, 3] as [number, number, 3], filters: [4, 8], convsPerBlock: 1 };
const options = segmentationTrainOptionsSchema.parse({ epochs: 2, batchSize: 4, learningRate: 1e-2 });

/** A 24×20 JPEG with a bright rectangle and its PNG mask (255 inside). */
async function writePair(name: string, random: () => number) {
  const [w, h] = [24, 20];
  const x0 = Math.floor(random() * 12);
  const y0 = Math.floor(random() * 10);
  const rgb = new Uint8Array(w * h * 3);
  const mask = new Uint8Array(w * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const inside = x >= x0 && x < x0 + 10 && y >= y0 && y < y0 + 8;
      mask[y * w + x] = inside ? 255 : 0;
      rgb.fill(inside ? 220 : 30, (y * w + x) * 3, (y * w + x + 1) * 3);
    }
  writeFileSync(
    join(data.images, `${name}.jpg`),
    await sharp(rgb, { raw: { width: w, height: h, channels: 3 } })
      .jpeg()
      .toBuffer(),
  );
  writeFileSync(
    join(data.masks, `${name}.png`),
    await sharp(mask, { raw: { width: w, height: h, channels: 1 } })
      .toColourspace('b-w')
      .png()
      .toBuffer(),
  );
}

beforeAll(async () => {
  await startWasm();
  root = mkdtempSync(join(tmpdir(), 'latent-atlas-seg-int-'));
  data = { images: join(root, 'images'), masks: join(root, 'masks'), split: join(root, 'split.csv') };
  modelsDir = join(root, 'models');
  mkdirSync(data.images);
  mkdirSync(data.masks);
  const random = seededRandom(7);
  const rows = ['file,split'];
  for (let i = 0; i < 12; i++) {
    await writePair(`p${i}`, random);
    rows.push(`p${i},${i < 8 ? 'train' : 'test'}`);
  }
  writeFileSync(data.split!, rows.join('\n'));
});
afterAll(() => {
  forgetSegmentationModels();
  rmSync(root, { recursive: true, force: true });
});

describe('segmentation service', () => {
  it('says how to get a model when there is none', async () => {
    await expect(openSegmentationModel(modelsDir)).rejects.toMatchObject({
      code: 'not_found',
      message: expect.stringContaining('npm run train:seg'),
    });
  });

  it('trains, scores the test split, saves where the web app finds it, and segments an upload', async () => {
    const outDir = join(modelsDir, 'segmentation', 'seg-a');
    const outcome = await trainSegmentation({ data, spec, options, outDir });
    expect(outcome.spec.maskValues).toEqual([0, 255]);
    expect(outcome.record).toMatchObject({ trainPairs: 8, testPairs: 4 });
    expect(outcome.record.history).toHaveLength(2);
    expect(outcome.record.test!.pixel_acc).toBeGreaterThan(0);

    const models = await listSegmentationModels(modelsDir);
    expect(models.map((m) => m.name)).toEqual(['seg-a']);
    expect(models[0]!.training?.test?.miou).toBe(outcome.record.test!.miou);

    // Dark with a bright 12×8 rectangle, like the training pairs, at a size the model never saw.
    const rgb = new Uint8Array(30 * 18 * 3).fill(30);
    for (let y = 5; y < 13; y++) rgb.fill(220, (y * 30 + 9) * 3, (y * 30 + 21) * 3);
    const picture = await sharp(rgb, { raw: { width: 30, height: 18, channels: 3 } })
      .jpeg()
      .toBuffer();
    const result = await segmentUpload(modelsDir, picture);
    expect(result.model).toBe('seg-a');
    expect([result.width, result.height, result.mask.length]).toEqual([30, 18, 30 * 18]);
    // The area is the share of pixels whose foreground probability wins, and the mask paints them 255.
    expect(result.channels).toBe(1);
    const foreground = result.probabilities.filter((p) => p > 0.5).length;
    expect(result.areaFraction).toBeCloseTo(foreground / (30 * 18), 10);
    expect(result.classFractions[0]).toBeCloseTo(1 - result.areaFraction, 10);
    for (let i = 0; i < result.mask.length; i++) {
      expect([result.classes[i], result.mask[i]]).toEqual(result.probabilities[i]! > 0.5 ? [1, 255] : [0, 0]);
    }
    const overlay = await encodeMaskOverlay(result.classes, result.width, result.height);
    expect(await sharp(overlay).metadata()).toMatchObject({ format: 'png', width: 30, height: 18, channels: 4 });
    const before = tf.memory().numTensors; // the model is cached now: a second call allocates nothing that stays
    await segmentUpload(modelsDir, picture);
    expect(tf.memory().numTensors).toBe(before);
    await expect(segmentUpload(modelsDir, picture, { model: 'nope' })).rejects.toMatchObject({ code: 'not_found' });
  });

  it('compares a given model with its no-skip twin (trained here) and the majority baseline in one run', async () => {
    const result = await compareSegmentation({ data, spec, options, modelsDir, modelDir: join(modelsDir, 'segmentation', 'seg-a') });
    expect(result.test_pairs).toBe(4);
    for (const key of ['model', 'no_skip', 'baseline'] as const) {
      expect(Object.keys(result[key])).toEqual(expect.arrayContaining(['miou', 'mmse', 'pixel_acc']));
    }
    expect(result.baseline.majority_class).toBe(0);
    // All background: background IoU = its share, foreground IoU 0, mMse = the foreground share.
    expect(result.baseline.iou[1]).toBe(0);
    expect(result.baseline.mmse).toBeCloseTo(80 / 480, 1);
    expect(await latestSegmentationComparison(root)).toBeNull();
    await saveSegmentationComparison(root, result);
    expect((await latestSegmentationComparison(root))?.model.miou).toBe(result.model.miou);
    const saved = await listSegmentationModels(modelsDir);
    expect(saved.find((m) => m.name.startsWith('seg-noskip-'))?.spec.skip).toBe(false);
  });
});
