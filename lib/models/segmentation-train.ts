/**
 * Training for the segmentation family: Adam, seeded mini-batches with the same crop and flip
 * applied to each image and its mask, an optional validation split, per-batch progress with
 * images/s and ETA, and cancellation through an AbortSignal — the progress and hooks of the
 * autoencoder trainer, so the CLI and the job runner show both the same way.
 */
import { z } from 'zod';
import { AppError } from '../errors';
import { tf, type Tensor4D } from '../engine/tf';
import type { SegmentationSet } from '../data/segmentation-folder';
import { augmentPair, randomAugmentation, type Augmentation } from '../segmentation/augment';
import { seededRandom } from './layers';
import type { Segmenter } from './segmenter';
import { createAdam, shuffledIndices, splitIndices, type EpochRecord, type TrainHooks, type TrainResult } from './train';

export const segmentationTrainOptionsSchema = z.strictObject({
  /** Passes over the training pairs. Default 25. */
  epochs: z.number().int().min(1).max(10000).default(25),
  /** Pairs per gradient step: small batches generalise better on a small set. Default 8. */
  batchSize: z.number().int().min(1).max(1024).default(8),
  /** Adam learning rate (the start of the schedule): batch norm lets it be higher than the autoencoders'. Default 2e-3. */
  learningRate: z.number().gt(0).max(1).default(2e-3),
  /**
   * Learning-rate schedule: 'cosine' decays it from `learningRate` to 0 over the run (the last
   * epochs settle instead of bouncing around at full step size); 'constant' keeps it. Default 'cosine'.
   */
  schedule: z.enum(['cosine', 'constant']).default('cosine'),
  /** Fraction held out to report validation loss each epoch (0 = none). Default 0. */
  validationSplit: z.number().min(0).max(0.5).default(0),
  /** Augmentation: horizontal flip, and a random crop of at least `minCrop` of each side scaled back. */
  augment: z
    .strictObject({ flip: z.boolean().default(true), minCrop: z.number().gt(0).max(1).default(0.7) })
    .default({ flip: true, minCrop: 0.7 }),
  /** Seed of the shuffle, the split and the augmentations; same seed + backend = same run. Default 42. */
  seed: z.number().int().min(0).default(42),
});
export type SegmentationTrainOptions = z.infer<typeof segmentationTrainOptionsSchema>;

const nextTick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Target tensor [n, h, w, channels]: 0/1 foreground for one channel, one-hot classes otherwise. */
export function targetTensor(labels: Uint8Array, n: number, height: number, width: number, channels: number): Tensor4D {
  if (channels === 1) {
    const out = new Float32Array(labels.length);
    for (let i = 0; i < labels.length; i++) out[i] = labels[i]! > 0 ? 1 : 0;
    return tf.tensor4d(out, [n, height, width, 1]);
  }
  const out = new Float32Array(labels.length * channels);
  for (let i = 0; i < labels.length; i++) out[i * channels + labels[i]!] = 1;
  return tf.tensor4d(out, [n, height, width, channels]);
}

/** The pairs at `indices` as tensors, each augmented by `augmentations[k]` when given. */
export function segmentationBatch(
  set: SegmentationSet,
  indices: ArrayLike<number>,
  outputChannels: number,
  augmentations: Augmentation[] | null,
): { x: Tensor4D; y: Tensor4D } {
  const { height, width, channels } = set;
  const n = indices.length;
  const size = height * width;
  const image = new Float32Array(n * size * channels);
  const labels = new Uint8Array(n * size);
  for (let k = 0; k < n; k++) {
    const i = indices[k]!;
    const src = set.pixels.subarray(i * size * channels, (i + 1) * size * channels);
    const srcLabels = set.labels.subarray(i * size, (i + 1) * size);
    const aug = augmentations?.[k];
    if (aug) {
      augmentPair(src, srcLabels, set, aug, image.subarray(k * size * channels), labels.subarray(k * size));
    } else {
      for (let p = 0; p < src.length; p++) image[k * size * channels + p] = src[p]! / 255;
      labels.set(srcLabels, k * size);
    }
  }
  return { x: tf.tensor4d(image, [n, height, width, channels]), y: targetTensor(labels, n, height, width, outputChannels) };
}

function checkSet(model: Segmenter, set: SegmentationSet): void {
  const [h, w, c] = model.spec.inputShape;
  if (set.height !== h || set.width !== w || set.channels !== c)
    throw new AppError('invalid_input', `pairs are ${set.height}×${set.width}×${set.channels} but the model expects ${h}×${w}×${c}`);
  if (set.maskValues.join(',') !== model.spec.maskValues.join(','))
    throw new AppError(
      'invalid_input',
      `masks use the values ${set.maskValues.join(', ')} but the model was built for ${model.spec.maskValues.join(', ')}`,
    );
}

/** Mean loss over `indices`, without augmentation or gradients. */
export function segmentationLoss(model: Segmenter, set: SegmentationSet, indices: ArrayLike<number>, batchSize = 16): number {
  let total = 0;
  for (let s = 0; s < indices.length; s += batchSize) {
    const idx = Array.from({ length: Math.min(batchSize, indices.length - s) }, (_, k) => indices[s + k]!);
    total +=
      tf.tidy(() => {
        const { x, y } = segmentationBatch(set, idx, model.outputChannels, null);
        return model.loss(x, y).dataSync()[0]!;
      }) * idx.length;
  }
  return total / indices.length;
}

/**
 * Trains `model` on `set`. Throws AppError('cancelled') when `hooks.signal` aborts, and
 * AppError('invalid_input') when the loss diverges.
 */
export async function trainSegmenter(
  model: Segmenter,
  set: SegmentationSet,
  options: SegmentationTrainOptions,
  hooks: Omit<TrainHooks, 'resume'> = {},
): Promise<TrainResult> {
  checkSet(model, set);
  const { epochs, batchSize, learningRate, seed } = options;
  const split = splitIndices(set.count, options.validationSplit, seed);
  const optimizer = createAdam(learningRate);
  const vars = model.trainableParams;
  const batches = Math.ceil(split.train.length / batchSize);
  const history: EpochRecord[] = [];
  const started = performance.now();
  let images = 0;
  try {
    for (let epoch = 1; epoch <= epochs; epoch++) {
      const order = shuffledIndices(split.train.length, seed + epoch);
      const random = seededRandom(seed * 7919 + epoch);
      const epochStart = performance.now();
      let sum = 0;
      for (let b = 0; b < batches; b++) {
        if (hooks.signal?.aborted) throw new AppError('cancelled', 'training was cancelled');
        const s = b * batchSize;
        const e = Math.min(split.train.length, s + batchSize);
        const idx = Array.from({ length: e - s }, (_, k) => split.train[order[s + k]!]!);
        const augmentations = idx.map(() => randomAugmentation(random, set.width, set.height, options.augment));
        const progress = ((epoch - 1) * batches + b) / (epochs * batches);
        // Adam reads its (otherwise fixed) learning rate at every step.
        (optimizer as unknown as { learningRate: number }).learningRate =
          options.schedule === 'cosine' ? (learningRate * (1 + Math.cos(Math.PI * progress))) / 2 : learningRate;
        const loss = tf.tidy(() => {
          const { x, y } = segmentationBatch(set, idx, model.outputChannels, augmentations);
          return optimizer.minimize(() => model.loss(x, y, true), true, vars)!.dataSync()[0]!;
        });
        model.updateMovingStatistics();
        if (!Number.isFinite(loss))
          throw new AppError(
            'invalid_input',
            `training diverged (loss ${loss}) at epoch ${epoch}, batch ${b + 1}; try a lower learning rate`,
          );
        sum += loss * idx.length;
        images += idx.length;
        const rate = images / Math.max((performance.now() - started) / 1000, 1e-9);
        hooks.onProgress?.({
          phase: 'train',
          epoch,
          epochs,
          batch: b + 1,
          batches,
          loss,
          valLoss: null,
          imagesPerSec: rate,
          etaSeconds: ((epochs - epoch) * split.train.length + (split.train.length - e)) / rate,
        });
        await nextTick();
      }
      const seconds = (performance.now() - epochStart) / 1000;
      const trainLoss = sum / split.train.length;
      const valLoss = split.val.length ? segmentationLoss(model, set, split.val) : null;
      history.push({ phase: 'train', epoch, loss: trainLoss, valLoss, imagesPerSec: split.train.length / seconds, seconds });
      hooks.onProgress?.({
        phase: 'train',
        epoch,
        epochs,
        batch: batches,
        batches,
        loss: trainLoss,
        valLoss,
        imagesPerSec: images / ((performance.now() - started) / 1000),
        etaSeconds: (epochs - epoch) * seconds,
        epochDone: true,
      });
      await hooks.onEpochEnd?.(epoch, history);
    }
  } finally {
    optimizer.dispose();
  }
  return { history, stoppedEarly: false, bestEpoch: epochs, imagesPerSec: images / ((performance.now() - started) / 1000) };
}
