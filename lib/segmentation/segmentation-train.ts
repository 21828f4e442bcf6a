/**
 * Training for the segmentation family: its objective (seeded mini-batches with the same crop and
 * flip applied to each image and its mask, batch norm's moving statistics after each step) and a
 * cosine learning-rate schedule, run by the one training driver (`lib/training/fit.ts`), so the
 * CLI and the job runner show its progress as they show the autoencoders'.
 */
import { z } from 'zod';
import { AppError } from '../errors';
import { tf, type Tensor4D } from '../engine/tf';
import type { SegmentationSet } from './segmentation-folder';
import { augmentPair, randomAugmentation, type Augmentation } from './augment';
import { evaluateObjective, fit, localRunner, splitIndices, type EpochRecord, type Objective, type TrainHooks } from '../training/fit';
import { seededRandom } from '../random';
import type { Segmenter } from './segmenter';
import type { TrainResult } from '../models/train';

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

/**
 * The segmentation objective: the model's loss on a batch of pairs, augmented when training. The
 * augmentations come from one seeded stream per epoch (`seed·7919 + epoch`), drawn in step order,
 * so this objective runs in this thread only.
 */
export function segmentationObjective(
  model: Segmenter,
  set: SegmentationSet,
  options: Pick<SegmentationTrainOptions, 'seed' | 'augment'>,
  evalBatchSize = 16,
): Objective {
  let epoch = 0;
  let random = seededRandom(0);
  return {
    vars: model.trainableParams,
    evalBatchSize,
    loss(ctx) {
      if (ctx.training && ctx.epoch !== epoch) {
        epoch = ctx.epoch;
        random = seededRandom(options.seed * 7919 + epoch);
      }
      const augmentations = ctx.training
        ? Array.from(ctx.indices, () => randomAugmentation(random, set.width, set.height, options.augment))
        : null;
      const { x, y } = segmentationBatch(set, ctx.indices, model.outputChannels, augmentations);
      return { total: model.loss(x, y, ctx.training) };
    },
    afterStep: () => model.updateMovingStatistics(),
  };
}

/** Mean loss over `indices`, without augmentation or gradients. */
export function segmentationLoss(model: Segmenter, set: SegmentationSet, indices: ArrayLike<number>, batchSize = 16): number {
  // Evaluation draws no augmentations, so the default options serve.
  const objective = segmentationObjective(model, set, segmentationTrainOptionsSchema.parse({}), batchSize);
  return evaluateObjective(objective, Int32Array.from(indices));
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
  const { learningRate, seed } = options;
  const runner = localRunner(segmentationObjective(model, set, options), {
    learningRate,
    ...(options.schedule === 'cosine' ? { schedule: (progress: number) => (learningRate * (1 + Math.cos(Math.PI * progress))) / 2 } : {}),
  });
  const plan = {
    phase: 'train' as const,
    ...splitIndices(set.count, options.validationSplit, seed),
    epochs: options.epochs,
    batchSize: options.batchSize,
    seed,
  };
  const history: EpochRecord[] = [];
  const { stoppedEarly, bestEpoch, imagesPerSec } = await fit(runner, plan, hooks, history);
  return { history, stoppedEarly, bestEpoch, imagesPerSec };
}
