/**
 * Training for the autoencoder family: Adam, mini-batches, a seeded shuffle and validation split,
 * early stopping (restoring the best weights), per-batch progress with images/s and ETA, and
 * cancellation through an AbortSignal. The stacked AE adds greedy layer-wise pretraining and a
 * fine-tuned classifier head.
 */
import { z } from 'zod';
import { AppError } from '../errors';
import { tf, type Tensor4D } from '../engine/tf';
import {
  fit,
  localRunner,
  splitIndices,
  type EpochRecord,
  type FitPlan,
  type Objective,
  type StepContext,
  type TrainHooks,
} from '../training/fit';
import type { Autoencoder } from './autoencoder';
import type { ModelSpec } from './spec';
import { batchTensor, checkImageSet, type ImageSet } from '../data/image-set';
import { debiasedNtXentLoss, mixedNtXentLoss, multiViewNtXentLoss, neighbourLoss, simSiamLoss, vicregLoss } from './contrastive';
import { meanSquaredError, RECONSTRUCTION_LOSSES } from './losses';
import { augmentImages, localPolicy, mixViews, viewPolicy, type MixedViews } from './views';

/** How the clustering head's centres start (see `clusterScheduleSchema.init`). */
export const CLUSTER_INITS = Object.freeze(['umap', 'kmeans'] as const);
/** What the clustering fine-tune pulls the codes towards (see `clusterScheduleSchema.target`). */
export const CLUSTER_TARGETS = Object.freeze(['self', 'fixed'] as const);

/** Schedule of the clustering fine-tune (models whose spec has a `clustering` head). */
export const clusterScheduleSchema = z.strictObject({
  /**
   * Cap on passes over the images; it stops earlier once assignments settle (tolerance). On
   * Fashion-MNIST the clusters stopped improving after 2 passes (README). Default 4.
   */
  epochs: z.number().int().min(1).max(1000).default(4),
  /** Images per step of the fine-tune (DCEC's 256). Default 256. */
  batchSize: z.number().int().min(1).max(8192).default(256),
  /** Batches between updates of the target distribution P (DEC's T): rarer is steadier, slower to adapt. Default 140. */
  updateInterval: z.number().int().min(1).max(100000).default(140),
  /** Stop when fewer than this fraction of images change cluster between two updates. Default 0.001. */
  tolerance: z.number().min(0).max(1).default(0.001),
  /** k-means restarts for the initial centres (the lowest inertia wins). Default 10. */
  restarts: z.number().int().min(1).max(100).default(10),
  /**
   * Where the centres start: 'kmeans' on the codes, or 'umap': the mean codes of an N2D partition
   * (UMAP of a 10,000-code sample, k-means there; ~40 s more), which follows the data's manifold
   * where k-means cuts across it. Measured on Fashion-MNIST (README): the better start. Default 'umap'.
   */
  init: z.enum(CLUSTER_INITS).default('umap'),
  /**
   * With init 'umap': cluster the UMAP with balanced k-means (equal cluster sizes, Sinkhorn), a
   * prior that suits collections with about as many images of each kind (Fashion-MNIST: 6,000 per
   * class) and misleads where kinds are rare. On Fashion-MNIST it kept plain k-means from cutting
   * bags in two and sharing sandals out (README). Default false.
   */
  balanced: z.boolean().default(false),
  /**
   * The target distribution P. 'self': DEC/IDEC's, Q sharpened and recomputed every
   * `updateInterval` batches, so the clusters drift towards those of the centres. 'fixed':
   * self-labelling, the starting partition held as hard pseudo-labels (P one-hot) for the
   * `confident` share of each cluster, trained on the labelled codes' scatter round their
   * centres (k-means' objective); the codes learn the start's (N2D's) clusters instead of
   * drifting back to those of the centres. Default 'self'.
   */
  target: z.enum(CLUSTER_TARGETS).default('self'),
  /**
   * With target 'fixed': the share of each starting cluster, largest centre margin first, that
   * carries a pseudo-label. Smaller keeps fewer wrong labels but teaches less: on Fashion-MNIST
   * k-means found the start better at 0.9 than at 0.5, at no cost in precision@10 (README).
   * Default 0.9.
   */
  confident: z.number().gt(0).max(1).default(0.9),
});
export type ClusterSchedule = z.infer<typeof clusterScheduleSchema>;

export const trainOptionsSchema = z.strictObject({
  /** Passes over the training images (0: none, to fine-tune a saved model's clustering head only). Default 10. */
  epochs: z.number().int().min(0).max(10000).default(10),
  /** Images per gradient step: larger is faster per image, smaller generalises better. Default 128. */
  batchSize: z.number().int().min(1).max(8192).default(128),
  /** Adam learning rate. Default 1e-3. */
  learningRate: z.number().gt(0).max(1).default(1e-3),
  /** Fraction held out to measure validation loss each epoch (0 = none). Default 0.1. */
  validationSplit: z.number().min(0).max(0.5).default(0.1),
  /** Stop after `patience` epochs without a validation improvement of `minDelta`; restores the best epoch. */
  earlyStopping: z.strictObject({ patience: z.number().int().min(1), minDelta: z.number().min(0).default(0) }).optional(),
  /** Seed of the shuffle, the split and the denoising noise; same seed + backend = same run. Default 42. */
  seed: z.number().int().min(0).default(42),
  /** Clustering fine-tune schedule, used when the spec has a clustering head (defaults above). */
  clustering: clusterScheduleSchema.optional(),
});
export type TrainOptions = z.infer<typeof trainOptionsSchema>;

export interface TrainResult {
  history: EpochRecord[];
  stoppedEarly: boolean;
  bestEpoch: number;
  imagesPerSec: number;
  /** Stacked AE only: classifier accuracy on the validation split. */
  valAccuracy?: number;
  /** Clustering head only: how the fine-tune went. */
  clustering?: ClusterFinetuneSummary;
}

export interface ClusterFinetuneSummary {
  /** Updates of the target distribution P. */
  updates: number;
  /** Gradient steps taken. */
  steps: number;
  /** Whether it stopped because assignments settled (fraction changed < tolerance). */
  converged: boolean;
  /** Fraction of images that changed cluster at the last update. */
  changed: number;
  /** KL(P‖Q) at the first and at the last update (fixed targets: −log q of the labelled images' own cluster, over all images). */
  klStart: number;
  klEnd: number;
  /** Images per cluster (hard assignment by the final Q). */
  sizes: number[];
}

/** Corrupts a batch with Gaussian noise of std `factor`, clipped to [0,1] (denoising AE). */
export function addNoise(x: Tensor4D, factor: number, seed?: number): Tensor4D {
  return tf.tidy(() => tf.clipByValue(tf.add(x, tf.randomNormal(x.shape, 0, factor, 'float32', seed)), 0, 1) as Tensor4D);
}

/**
 * The reconstruction objective (+ KL for a VAE-style loss, sparsity for a sparse AE): each step
 * reconstructs its images, corrupted first by seeded noise for a denoising AE (the step's seed plus
 * the replica's stream). With `spec.contrastive` (weight > 0) each step adds the two-view loss
 * (`twoViewLoss`). Runs in this thread and, built by name, in the worker replicas.
 */
export function reconstructionObjective(model: Autoencoder, set: ImageSet): Objective {
  const noise = model.spec.denoising?.noiseFactor;
  const contrastive = model.spec.contrastive?.weight ? model.spec.contrastive : undefined;
  const twoViews = contrastive !== undefined;
  const policy = contrastive ? viewPolicy(contrastive.views, contrastive.jitter) : null;
  return {
    vars: twoViews ? [...model.autoencoderParams, ...model.projectionParams] : model.autoencoderParams,
    loss(ctx) {
      const x = batchTensor(set, ctx.indices, 0, ctx.indices.length);
      const input = noise && ctx.training ? addNoise(x, noise, ctx.seed + ctx.stream) : x;
      // Validation measures reconstruction only: its views would be one more random draw.
      if (!policy || !contrastive || !ctx.training) return { total: model.loss(input, x) };
      const n = ctx.indices.length;
      const shape: [number, number, number, number] = [n, set.height, set.width, set.channels];
      const view = (v: number) => augmentImages(set, ctx.indices, policy, ctx.seed, ctx.offset, v);
      // i-Mix: the first view of each image blended with another image's.
      const mix = contrastive.mix ? mixViews(view(0), n, ctx.seed, ctx.offset) : undefined;
      const first = tf.tensor4d(mix ? mix.pixels : view(0), shape);
      // One encoder pass over the clean (or noisy) images and both views; the decoder sees the first third.
      const codes = model.encode(tf.concat([input, first, tf.tensor4d(view(1), shape)], 0));
      const code = codes.slice([0, 0], [n, -1]);
      const reconstruction = model.reconstructionLoss(code, x);
      const views = [codes.slice([n, 0], [n, -1]), codes.slice([2 * n, 0], [n, -1])];
      const crops = contrastive.localCrops;
      if (crops) {
        // Multi-crop: the small crops, drawn at low resolution, in one more encoder pass.
        const small = localPolicy(policy, crops);
        const out = { height: crops.size, width: crops.size };
        const pixels = Array.from({ length: crops.count }, (_, c) =>
          tf.tensor4d(augmentImages(set, ctx.indices, small, ctx.seed, ctx.offset, 2 + c, out), [n, crops.size, crops.size, set.channels]),
        );
        const local = model.encode(tf.concat(pixels, 0));
        for (let c = 0; c < crops.count; c++) views.push(local.slice([c * n, 0], [n, -1]));
      }
      // Nearest-neighbour positives, once the warm-up is over: the clean images are the support.
      const neighbours = contrastive.neighbours && ctx.progress >= contrastive.neighbours.warmup ? code : undefined;
      const twoView = twoViewLoss(model, views, { ...(neighbours ? { support: neighbours } : {}), ...(mix ? { mix } : {}) });
      return {
        total: tf.add(reconstruction, tf.mul(contrastive.weight, twoView)) as tf.Scalar,
        parts: { reconstruction, contrastive: twoView },
      };
    },
  };
}

/**
 * Fewest images a replica's share of a step may hold for the two-view objective to be sharded.
 * Each replica compares its images only with its own share (NT-Xent's negatives, VICReg's batch
 * statistics), so data-parallel two-view training optimises the mean of the shares' losses: with
 * 2 workers and batches of 256, 255 other views per view instead of 511, the batch size SimCLR
 * still trains well at (Chen et al. 2020, fig. 9). Below this the shares get too few negatives.
 */
export const MIN_TWO_VIEW_SHARE = 64;

/**
 * Whether `workers` replicas may share a step of `batchSize` images of `spec`: always without the
 * two-view objective; with it, when every share keeps at least MIN_TWO_VIEW_SHARE images.
 */
export function shardsTwoViews(spec: ModelSpec, batchSize: number, workers: number): boolean {
  return (spec.contrastive?.weight ?? 0) === 0 || Math.floor(batchSize / workers) >= MIN_TWO_VIEW_SHARE;
}

/** Refuses data-parallel training whose two-view shares would be too small to compare (see `shardsTwoViews`). */
export function refuseShardedTwoViews(spec: ModelSpec, batchSize: number, workers: number): void {
  if (!shardsTwoViews(spec, batchSize, workers))
    throw new AppError(
      'invalid_input',
      `the two-view (contrastive) objective compares each image with the rest of its share of the batch: ${workers} workers × at least ${MIN_TWO_VIEW_SHARE} images needs batches of ${workers * MIN_TWO_VIEW_SHARE} or more (got ${batchSize}); use a larger batch or train it in one thread (workers 1)`,
    );
}

/**
 * The spec's two-view loss between the codes of the views (the two full views first, then any
 * multi-crop small crops), taken on the projection head's outputs.
 */
export function twoViewLoss(
  model: Autoencoder,
  codes: readonly tf.Tensor2D[],
  extras: { support?: tf.Tensor2D; mix?: Pick<MixedViews, 'weights' | 'partners'> } = {},
): tf.Scalar {
  const c = model.spec.contrastive;
  if (!c) throw new AppError('internal', 'twoViewLoss needs a spec with a contrastive objective');
  const projected = codes.map((code) => model.project(code));
  const [z1, z2] = projected as [tf.Tensor2D, tf.Tensor2D];
  const { support, mix } = extras;
  if (c.loss === 'ntxent') {
    if (mix) return mixedNtXentLoss(z1, z2, mix.weights, mix.partners, c.temperature);
    const views =
      projected.length > 2 ? multiViewNtXentLoss(projected, c.temperature, 2) : debiasedNtXentLoss(z1, z2, c.temperature, c.debias);
    if (!support || !c.neighbours) return views;
    return tf.add(views, tf.mul(c.neighbours.weight, neighbourLoss(z1, z2, model.project(support), c.temperature))) as tf.Scalar;
  }
  if (c.loss === 'vicreg') return vicregLoss(z1, z2);
  return simSiamLoss(model.predict(z1), model.predict(z2), z1, z2);
}

/** The plan of a run over `count` images with `options`: split, epochs, batches, seed, early stopping. */
function trainPlan(count: number, options: TrainOptions, phase: FitPlan['phase']): FitPlan {
  return {
    phase,
    ...splitIndices(count, options.validationSplit, options.seed),
    epochs: options.epochs,
    batchSize: options.batchSize,
    seed: options.seed,
    earlyStopping: options.earlyStopping,
  };
}

/** Runs `objective` in this thread with Adam at `options.learningRate`; records go to `history`. */
function fitHere(objective: Objective, plan: FitPlan, options: TrainOptions, hooks: TrainHooks, history: EpochRecord[]) {
  return fit(localRunner(objective, { learningRate: options.learningRate }), plan, hooks, history);
}

/**
 * Trains an autoencoder on `set` (dense, conv, sparse, denoising; a stacked AE goes through
 * `trainStacked`). Throws AppError('cancelled') when `hooks.signal` aborts.
 */
export async function trainAutoencoder(
  model: Autoencoder,
  set: ImageSet,
  options: TrainOptions,
  hooks: TrainHooks = {},
): Promise<TrainResult> {
  checkImageSet(set, model.spec.inputShape);
  const history: EpochRecord[] = [...(hooks.resume?.history ?? [])];
  const plan = trainPlan(set.count, options, 'train');
  const { stoppedEarly, bestEpoch, imagesPerSec } = await fitHere(reconstructionObjective(model, set), plan, options, hooks, history);
  return { history, stoppedEarly, bestEpoch, imagesPerSec };
}

/**
 * Stacked AE: each layer is pretrained as an AE on the (frozen) code of the layers beneath it,
 * then the encoder stack and a softmax classifier are fine-tuned on the labels.
 */
export async function trainStacked(model: Autoencoder, set: ImageSet, options: TrainOptions, hooks: TrainHooks = {}): Promise<TrainResult> {
  const spec = model.spec;
  if (spec.arch !== 'stacked') throw new AppError('invalid_input', `trainStacked needs a stacked spec, got '${spec.arch}'`);
  checkImageSet(set, spec.inputShape);
  const labels = set.labels;
  if (!labels)
    throw new AppError('invalid_input', 'a stacked AE fine-tunes a classifier and needs labelled images (e.g. --data fashion-mnist)');
  for (const label of labels) {
    if (label < 0 || label >= spec.classes)
      throw new AppError('invalid_input', `label ${label} is outside 0..${spec.classes - 1} (spec.classes = ${spec.classes})`);
  }
  const split = splitIndices(set.count, options.validationSplit, options.seed);
  const history: EpochRecord[] = [];
  // Layer-wise phases do not resume from checkpoints: only progress and cancellation pass through.
  const stackHooks: TrainHooks = {
    ...(hooks.onProgress ? { onProgress: hooks.onProgress } : {}),
    ...(hooks.signal ? { signal: hooks.signal } : {}),
  };
  const trainedImages = split.train.length * options.epochs;
  let seconds = 0;
  for (let layer = 0; layer <= spec.hidden.length; layer++) {
    const plan = { ...trainPlan(set.count, options, 'pretrain'), layer };
    const r = await fitHere(layerObjective(model, set, layer), plan, options, stackHooks, history);
    seconds += trainedImages / r.imagesPerSec;
  }
  const finetune = await fitHere(
    classifierObjective(model, set, labels),
    trainPlan(set.count, options, 'finetune'),
    options,
    stackHooks,
    history,
  );
  const evalSet = split.val.length ? split.val : split.train;
  let correct = 0;
  for (let s = 0; s < evalSet.length; s += 1000) {
    const idx = evalSet.subarray(s, Math.min(evalSet.length, s + 1000));
    const predicted = tf.tidy(() => tf.argMax(model.classify(batchTensor(set, idx, 0, idx.length)), 1).dataSync());
    predicted.forEach((p, k) => {
      if (p === labels[idx[k]!]) correct++;
    });
  }
  const layers = spec.hidden.length + 1;
  return {
    history,
    stoppedEarly: finetune.stoppedEarly,
    bestEpoch: finetune.bestEpoch,
    imagesPerSec: (trainedImages * (layers + 1)) / (seconds + trainedImages / finetune.imagesPerSec),
    valAccuracy: correct / evalSet.length,
  };
}

const stepImages = (set: ImageSet, ctx: StepContext) => batchTensor(set, ctx.indices, 0, ctx.indices.length);

/** The stacked AE's pretraining of `layer`: an AE on the (frozen) code of the layers beneath it. */
function layerObjective(model: Autoencoder, set: ImageSet, layer: number): Objective {
  const lossFn = layer === 0 ? RECONSTRUCTION_LOSSES[model.spec.loss] : meanSquaredError;
  const names = [`enc/dense${layer}/kernel`, `enc/dense${layer}/bias`, `dec/dense${layer}/kernel`, `dec/dense${layer}/bias`];
  return {
    vars: names.map((n) => model.p(n)),
    loss(ctx) {
      const x = stepImages(set, ctx);
      let input = tf.reshape(x, [x.shape[0], -1]) as tf.Tensor2D;
      for (let i = 0; i < layer; i++) input = model.encodeLayer(input, i);
      return { total: lossFn(model.decodeLayer(model.encodeLayer(input, layer), layer), input) as tf.Scalar };
    },
  };
}

/** The stacked AE's fine-tune: encoder stack and softmax classifier on the labels. */
function classifierObjective(model: Autoencoder, set: ImageSet, labels: Uint8Array | Int32Array): Objective {
  const classes = model.spec.arch === 'stacked' ? model.spec.classes : 0;
  return {
    vars: [...model.params].filter(([n]) => n.startsWith('enc/') || n.startsWith('cls/')).map(([, v]) => v),
    loss(ctx) {
      const targets = tf.oneHot(
        tf.tensor1d(
          Array.from(ctx.indices, (i) => labels[i]!),
          'int32',
        ),
        classes,
      );
      const logits = tf.add(tf.matMul(model.encode(stepImages(set, ctx)), model.p('cls/kernel')), model.p('cls/bias'));
      return { total: tf.losses.softmaxCrossEntropy(targets, logits) as tf.Scalar };
    },
  };
}
