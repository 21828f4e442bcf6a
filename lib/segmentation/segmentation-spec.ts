/**
 * The segmentation model family's spec: one typed, validated description of an encoder-decoder
 * (VGG-style encoder, decoder with the autoencoder family's upsampling modes, optional skip
 * connections and shallow detail path, per-pixel sigmoid or softmax), saved beside the weights.
 * Kept apart from the autoencoder specs: a segmentation model has no latent code and never
 * enters the library's embedding registry.
 */
import { z } from 'zod';
import { AppError } from '../errors';
import { parseOrThrow } from '../validation';
import { UPSAMPLING_MODES } from '../models/spec';

/** Losses of the family; with several classes 'bce' is the categorical cross-entropy. */
export const SEGMENTATION_LOSSES = Object.freeze(['bce', 'dice', 'bce+dice'] as const);
export type SegmentationLoss = (typeof SEGMENTATION_LOSSES)[number];

const positiveInt = z.number().int().positive();

const maskValues = z
  .array(z.number().int().min(0).max(255))
  .min(2)
  .max(256)
  .refine((v) => v[0] === 0, { message: 'the first mask value must be 0 (background)' })
  .refine((v) => v.every((x, i) => i === 0 || x > v[i - 1]!), { message: 'mask values must be strictly increasing' });

export const segmentationSpecSchema = z.strictObject({
  arch: z.literal('segmentation'),
  /** Input height, width and channels. Default 96×96×3: small enough to train on 2 CPU cores in minutes. */
  inputShape: z.tuple([positiveInt.max(1024), positiveInt.max(1024), z.union([z.literal(1), z.literal(3)])]).default([96, 96, 3]),
  /**
   * Pixel values of the mask PNGs, one per class, background (0) first. Two values: binary, one
   * sigmoid output; more: one softmax output per class. Default [0, 255].
   */
  maskValues: maskValues.default([0, 255]),
  /** Channels of each encoder block; each block ends in 2×2 max pooling. Default [8, 16, 32, 64]: trains in minutes on 2 cores. */
  filters: z.array(positiveInt.max(1024)).min(1).max(6).default([8, 16, 32, 64]),
  /** 3×3 conv+ReLU layers per encoder block (VGG16: 2, 2, 3, 3, 3). Default 2: depth at low cost. */
  convsPerBlock: z.number().int().min(1).max(4).default(2),
  /** Decoder upsampling: nearest or bilinear resize then a 3×3 conv, or a transposed conv. Default 'bilinear'. */
  upsampling: z.enum(UPSAMPLING_MODES).default('bilinear'),
  /** Concatenate each encoder block's features into the decoder at the same resolution. Default true. */
  skip: z.boolean().default(true),
  /**
   * A second, shallow path (two 3×3 convs at full resolution) for local detail, joined with the
   * decoder before its last convolution (Yuan et al. 2019). Costs a full-resolution layer. Default off.
   */
  shallow: z.strictObject({ filters: positiveInt.max(256) }).optional(),
  /**
   * Batch normalisation after each 3×3 conv: trains a deep net from scratch in far fewer steps;
   * costs a few elementwise passes per layer. Default true.
   */
  batchNorm: z.boolean().default(true),
  /** Training loss: cross-entropy, soft Dice (robust to small foregrounds), or their sum. Default 'bce+dice'. */
  loss: z.enum(SEGMENTATION_LOSSES).default('bce+dice'),
  /** Seed for the initial weights. Default 42. */
  seed: z.number().int().min(0).default(42),
});

export type SegmentationSpec = z.infer<typeof segmentationSpecSchema>;
/** What callers write: every field optional (defaults filled in by `parseSegmentationSpec`). */
export type SegmentationSpecInput = Omit<z.input<typeof segmentationSpecSchema>, 'arch'> & { arch?: 'segmentation' };

/** Number of classes, background included. */
export function classCount(spec: SegmentationSpec): number {
  return spec.maskValues.length;
}

/** Output channels: 1 (sigmoid, p(foreground)) for two classes, one softmax channel per class otherwise. */
export function outputChannels(spec: SegmentationSpec): number {
  return spec.maskValues.length === 2 ? 1 : spec.maskValues.length;
}

/** Validates a segmentation spec and fills in defaults; AppError('invalid_input') names every problem. */
export function parseSegmentationSpec(input: unknown): SegmentationSpec {
  const valid = Object.keys(segmentationSpecSchema.shape).join(', ');
  const spec = parseOrThrow(segmentationSpecSchema, { arch: 'segmentation', ...(input as object) }, 'segmentation spec', {
    root: 'spec',
    describe: (i) =>
      i.code === 'unrecognized_keys'
        ? `unknown option${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `'${k}'`).join(', ')}; valid options: ${valid}`
        : undefined,
  });
  const divisor = 2 ** spec.filters.length;
  if (spec.inputShape[0] < divisor || spec.inputShape[1] < divisor) {
    throw new AppError(
      'invalid_input',
      `an input of ${spec.inputShape[0]}×${spec.inputShape[1]} is too small for ${spec.filters.length} poolings (at least ${divisor}×${divisor})`,
    );
  }
  return Object.freeze(spec);
}
