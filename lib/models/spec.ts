/**
 * Model specifications: one typed, validated description builds every autoencoder of the family
 * (dense, convolutional, stacked) with its options (sparse KL penalty, denoising noise, loss,
 * clustering head).
 * A spec is plain JSON, saved beside the weights, so a model directory describes itself.
 */
import { z } from 'zod';
import { AppError } from '../errors';
import { CONTRASTIVE_LOSSES } from './contrastive';
import { PRESET_SPECS } from './presets';
import { VIEW_KINDS } from './views';
import { parseOrThrow } from '../validation';

const positiveInt = z.number().int().positive();

/** Decoder upsampling modes of the convolutional AE. */
export const UPSAMPLING_MODES = Object.freeze(['nearest', 'bilinear', 'transposed'] as const);
export const DOWNSAMPLING_MODES = Object.freeze(['maxpool', 'stride'] as const);
export const LOSSES = Object.freeze(['mse', 'bce'] as const);
export const ACTIVATIONS = Object.freeze(['sigmoid', 'relu', 'linear'] as const);
/** Normalisation after each conv of the encoder: none, or group norm (Wu & He 2018; per image, so batch size and sharding do not matter). */
export const NORMALISATIONS = Object.freeze(['none', 'group'] as const);
/** How the last feature map becomes the code: flattened (keeps where things are) or global average pooling (keeps what is there). */
export const POOLINGS = Object.freeze(['flatten', 'average'] as const);

const activation = z.enum(ACTIVATIONS);

const common = {
  /** Input height, width and channels (1 = grey, 3 = RGB). */
  inputShape: z.tuple([positiveInt.max(1024), positiveInt.max(1024), z.union([z.literal(1), z.literal(3)])]),
  /** Size of the code (latent vector). Smaller than the input: undercomplete; larger: overcomplete. */
  latentSize: positiveInt.max(65536),
  /** Reconstruction loss. 'bce' needs outputs in [0,1] (sigmoid output). Default 'mse'. */
  loss: z.enum(LOSSES).default('mse'),
  /** Sparse AE: adds beta·Σj KL(rho‖rho_hat_j) on the code's mean activations (sigmoid code). */
  sparse: z.strictObject({ rho: z.number().gt(0).lt(1), beta: z.number().min(0) }).optional(),
  /** Denoising AE: inputs corrupted by Gaussian noise of this std (clipped to [0,1]) during training. */
  denoising: z.strictObject({ noiseFactor: z.number().gt(0).max(2) }).optional(),
  /**
   * Clustering head (IDEC, Guo et al. 2017; DEC, Xie et al. 2016): `clusters` centres in the latent
   * space. After the reconstruction training, centres start from k-means on the codes, then encoder,
   * decoder and centres are fine-tuned on reconstruction + gamma·KL(P‖Q), which pulls the codes
   * into `clusters` well-separated groups (better k-means on the latents, still unsupervised).
   * gamma: weight of the clustering loss (KL(P‖Q), or with fixed targets the scatter ratio);
   * larger sharpens clusters faster but distorts the neighbourhoods that search relies on. IDEC/DCEC use 0.1; on Fashion-MNIST 0.02 clustered as
   * well and kept more of precision@10 (docs/experiments.md). Default 0.02. Off by default.
   */
  clustering: z.strictObject({ clusters: z.number().int().min(2).max(1000), gamma: z.number().gt(0).max(100).default(0.02) }).optional(),
  /**
   * Search head: the vectors the library stores, searches and clusters are the codes centred,
   * rotated onto their principal axes, each axis scaled by 1/σ^whiten (0: none, 1: full PCA
   * whitening) and L2-normalised — the post-processing of image retrieval (Jégou & Chum 2012).
   * Fitted on the training codes after training; the decoder still takes the raw codes.
   */
  embedding: z
    .strictObject({
      whiten: z.number().min(0).max(1).default(0.5),
      /**
       * Test-time augmentation: the search vector starts from the mean code of the image and its
       * mirror image, so a picture and its mirror find the same neighbours (twice the encoding
       * cost). For collections where left and right carry no meaning (photos, garments), never
       * for X-rays. Default false.
       */
      mirror: z.boolean().default(false),
    })
    .optional(),
  /**
   * Two-view objective beside reconstruction (SimCLR/VICReg/SimSiam): during training each image
   * is also drawn twice with the augmentations of `views`, and the codes of the two views are
   * pulled together (through a projection head) while codes of different images are kept apart,
   * so the code keeps what the picture shows rather than where its colours were. The decoder
   * still reconstructs the clean image; search and clustering use the code (before the head).
   * Off by default; weight 0 trains exactly the plain autoencoder.
   */
  contrastive: z
    .strictObject({
      /** 'ntxent' (SimCLR, negatives from the batch), 'vicreg' (variance/covariance terms), 'simsiam' (predictor + stop-gradient). Default 'ntxent'. */
      loss: z.enum(CONTRASTIVE_LOSSES).default('ntxent'),
      /** Weight of the two-view loss next to the reconstruction loss: larger groups by content more, reconstructs less. Default 1. */
      weight: z.number().min(0).max(1000).default(1),
      /** NT-Xent temperature τ: lower sharpens the contrast with the hardest negatives. Default 0.1. */
      temperature: z.number().gt(0).max(10).default(0.1),
      /**
       * NT-Xent only: the share τ⁺ of a batch's other images that show the same kind of thing
       * (DCL, Chuang et al. 2020), corrected for instead of pushed apart; about 1/k for k kinds of
       * picture. 0: plain NT-Xent. Default 0.
       */
      debias: z.number().min(0).lt(1).default(0),
      /** Projection head widths after the code (hidden ReLU layers, then the output); SimSiam adds a predictor of the same widths. Default [128, 64]. */
      projection: z.array(positiveInt.max(8192)).min(1).max(4).default([128, 64]),
      /** What a view may change: 'photo' (crop, flip, colour jitter, greyscale, blur), 'xray' (small crop, shift, rotation, contrast, gamma; no flip), 'garment' (crop, flip). Default 'photo'. */
      views: z.enum(VIEW_KINDS).default('photo'),
      /** Strength of the colour jitter, 0–1 of SimCLR's (colour often carries meaning: sunflowers are yellow). Default 1. */
      jitter: z.number().min(0).max(1).default(1),
      /**
       * NT-Xent only: i-Mix (Lee et al. 2021): the first view of each image is blended with
       * another image's (weight λ ~ U(0, 1)) and must find both images' second views in
       * proportion; a regulariser for small collections. Default false.
       */
      mix: z.boolean().default(false),
      /**
       * NT-Xent only: nearest-neighbour positives (NNCLR) added to the two-view loss with `weight`
       * once `warmup` of the run is done (the neighbours of an untrained encoder mean nothing):
       * each view's nearest other image in the batch stands in for it. Default none.
       */
      neighbours: z
        .strictObject({
          weight: z.number().gt(0).max(100).default(1),
          warmup: z.number().min(0).lt(1).default(0.3),
        })
        .optional(),
      /**
       * Multi-crop (SwAV, DINO): `count` more views per image, small crops (`scale` of the area)
       * drawn at `size` px (needs pool 'average' on a conv encoder, which takes any input size);
       * with NT-Xent each is a positive of the two full views. Default none.
       */
      localCrops: z
        .strictObject({
          count: positiveInt.max(16),
          size: positiveInt.max(1024),
          scale: z
            .tuple([z.number().gt(0).max(1), z.number().gt(0).max(1)])
            .refine(([lo, hi]) => lo <= hi, 'scale must be [min, max] with min ≤ max')
            .default([0.05, 0.4]),
        })
        .optional(),
    })
    .optional(),
  /** Seed for the initial weights. Default 42. */
  seed: z.number().int().min(0).default(42),
};

const denseSpec = z.strictObject({
  arch: z.literal('dense'),
  ...common,
  /** Hidden layer sizes between input and code (the decoder mirrors them). Default none. */
  hidden: z.array(positiveInt.max(65536)).max(8).default([]),
  /** Activation s of the hidden layers. Default 'sigmoid', as in f(x)=s(Wx+b). */
  activation: activation.default('sigmoid'),
  latentActivation: activation.default('sigmoid'),
  outputActivation: activation.default('sigmoid'),
});

const convSpec = z.strictObject({
  arch: z.literal('conv'),
  ...common,
  /** Channels of each encoder block (each halves the spatial size). Default [32, 64]. */
  filters: z.array(positiveInt.max(1024)).min(1).max(6).default([32, 64]),
  /** 'maxpool': conv(stride 1)+ReLU+2×2 max pooling, as in the course; 'stride': conv stride 2. */
  downsample: z.enum(DOWNSAMPLING_MODES).default('maxpool'),
  /** Decoder upsampling: nearest neighbour or bilinear (then a 3×3 conv), or transposed conv. */
  upsampling: z.enum(UPSAMPLING_MODES).default('nearest'),
  /** Encoder normalisation: 'group' (8 groups, or fewer for narrow layers) steadies training at higher learning rates and for two-view objectives. Default 'none'. */
  norm: z.enum(NORMALISATIONS).default('none'),
  /**
   * Code from the last feature map: 'flatten' (dense layer over every position: remembers layout,
   * as the course's CAE) or 'average' (global average pooling, then the dense layer: invariant to
   * where things are, far fewer weights). Default 'flatten'.
   */
  pool: z.enum(POOLINGS).default('flatten'),
  latentActivation: activation.default('linear'),
  outputActivation: activation.default('sigmoid'),
});

const stackedSpec = z.strictObject({
  arch: z.literal('stacked'),
  ...common,
  /** Layers below the code; each is pretrained as an AE on the code of the layer beneath it. */
  hidden: z.array(positiveInt.max(65536)).max(8).default([256]),
  /** Number of classes of the classifier head fine-tuned on top of the encoder stack. */
  classes: z.number().int().min(2).max(10000),
  activation: activation.default('sigmoid'),
  latentActivation: activation.default('sigmoid'),
  outputActivation: activation.default('sigmoid'),
});

export type DenseSpec = z.infer<typeof denseSpec>;
export type ConvSpec = z.infer<typeof convSpec>;
export type StackedSpec = z.infer<typeof stackedSpec>;
export type ModelSpec = DenseSpec | ConvSpec | StackedSpec;
export type ModelSpecInput = z.input<typeof denseSpec> | z.input<typeof convSpec> | z.input<typeof stackedSpec>;

/** Architectures of the family; an unknown key is refused with the list of valid ones. */
export const ARCHITECTURES = Object.freeze({
  dense: { schema: denseSpec, summary: "dense AE: f(x)=s(Wx+b), g(z)=s(W'z+b'), under- or overcomplete" },
  conv: { schema: convSpec, summary: 'convolutional AE: conv+ReLU+pooling blocks, upsampling decoder' },
  stacked: { schema: stackedSpec, summary: 'stacked AE: greedy layer-wise pretraining + classifier head' },
} as const);
export type ArchName = keyof typeof ARCHITECTURES;

type Writable<T> = { -readonly [K in keyof T]: Writable<T[K]> };
/** Named, ready-made specs (plain data in lib/models/presets.ts, for the pages), type-checked here. */
export const PRESETS: Readonly<Record<keyof typeof PRESET_SPECS, ModelSpecInput>> = PRESET_SPECS as Writable<typeof PRESET_SPECS>;
export type PresetName = keyof typeof PRESETS;

/** An unknown option is named with the valid ones of its arch; other issues read `<where>: <message>`. */
function describeIssue(issue: z.core.$ZodIssue, arch: string): string | undefined {
  if (issue.code !== 'unrecognized_keys') return undefined;
  const valid = Object.keys(ARCHITECTURES[arch as ArchName].schema.shape).join(', ');
  return `unknown option${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `'${k}'`).join(', ')} for arch '${arch}'; valid options: ${valid}`;
}

/**
 * Validates a spec (from JSON, CLI flags or a saved model) and fills in defaults.
 * Throws AppError('invalid_input') naming every problem.
 */
export function parseModelSpec(input: unknown): ModelSpec {
  const arch = (input as { arch?: unknown } | null)?.arch;
  if (typeof arch !== 'string' || !(arch in ARCHITECTURES)) {
    throw new AppError(
      'invalid_input',
      `unknown arch ${JSON.stringify(arch)}; valid architectures: ${Object.keys(ARCHITECTURES).join(', ')}`,
    );
  }
  const spec = parseOrThrow(ARCHITECTURES[arch as ArchName].schema, input, `${arch} model spec`, {
    root: 'spec',
    describe: (issue) => describeIssue(issue, arch),
  }) as ModelSpec;
  const latentActivation = spec.latentActivation;
  if (spec.sparse && latentActivation !== 'sigmoid') {
    throw new AppError(
      'invalid_input',
      `a sparse AE needs latentActivation 'sigmoid' (mean activations in (0,1)); got '${latentActivation}'`,
    );
  }
  if (spec.contrastive && spec.arch === 'stacked') {
    throw new AppError('invalid_input', 'a stacked AE is pretrained layer by layer; a contrastive objective needs arch dense or conv');
  }
  if (spec.contrastive?.localCrops && (spec.arch !== 'conv' || spec.pool !== 'average' || spec.contrastive.loss !== 'ntxent')) {
    throw new AppError(
      'invalid_input',
      "contrastive.localCrops (small low-resolution crops) needs arch 'conv' with pool 'average' (an encoder that takes any input size) and loss 'ntxent'",
    );
  }
  if ((spec.contrastive?.neighbours || spec.contrastive?.debias || spec.contrastive?.mix) && spec.contrastive.loss !== 'ntxent') {
    throw new AppError('invalid_input', "contrastive.neighbours, debias and mix change NT-Xent: they need loss 'ntxent'");
  }
  if (spec.contrastive?.mix && (spec.contrastive.localCrops || spec.contrastive.neighbours || spec.contrastive.debias)) {
    throw new AppError(
      'invalid_input',
      'contrastive.mix (i-Mix) replaces the two-view NT-Xent: it cannot be combined with localCrops, neighbours or debias',
    );
  }
  if (spec.clustering && spec.arch === 'stacked') {
    throw new AppError('invalid_input', 'a stacked AE is fine-tuned as a classifier; a clustering head needs arch dense or conv');
  }
  if (spec.loss === 'bce' && spec.outputActivation !== 'sigmoid') {
    throw new AppError('invalid_input', `loss 'bce' needs outputActivation 'sigmoid' (outputs in (0,1)); got '${spec.outputActivation}'`);
  }
  return Object.freeze(spec);
}

/** A preset by name, validated; unknown names list the valid ones. */
export function presetSpec(name: string, overrides: Record<string, unknown> = {}): ModelSpec {
  if (!(name in PRESETS))
    throw new AppError('invalid_input', `unknown preset '${name}'; valid presets: ${Object.keys(PRESETS).join(', ')}`);
  return parseModelSpec({ ...PRESETS[name as PresetName], ...overrides });
}

/**
 * The input shape of a model trained on folder images: `--size`/`--channels` where given, else
 * the preset's (a preset's 64×64×3 stands unless overridden), else 28×28×1.
 */
export function inputShapeOf(
  base: readonly [number, number, number] | undefined,
  flags: { size?: number | undefined; channels?: number | undefined },
): [number, number, number] {
  return [flags.size ?? base?.[0] ?? 28, flags.size ?? base?.[1] ?? 28, flags.channels ?? base?.[2] ?? 1];
}
