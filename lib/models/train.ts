/**
 * Training for the autoencoder family: Adam, mini-batches, a seeded shuffle and validation split,
 * early stopping (restoring the best weights), per-batch progress with images/s and ETA, and
 * cancellation through an AbortSignal. The stacked AE adds greedy layer-wise pretraining and a
 * fine-tuned classifier head.
 */
import { z } from 'zod';
import { AppError } from '../errors';
import { tf, type Tensor4D } from '../engine/tf';
import type { Autoencoder } from './autoencoder';
import { batchTensor, checkImageSet, type ImageSet } from './image-set';
import { seededRandom } from './layers';
import { meanSquaredError, RECONSTRUCTION_LOSSES } from './losses';

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

export interface TrainProgress {
  phase: 'train' | 'pretrain' | 'finetune' | 'cluster';
  /** For the stacked AE's pretraining: which layer (0-based). */
  layer?: number;
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
  loss: number;
  valLoss: number | null;
  imagesPerSec: number;
  etaSeconds: number;
  /** Set on the event that closes an epoch (after validation). */
  epochDone?: true;
}

export interface EpochRecord {
  phase: TrainProgress['phase'];
  epoch: number;
  loss: number;
  valLoss: number | null;
  imagesPerSec: number;
  seconds: number;
}

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

export interface TrainHooks {
  onProgress?: (progress: TrainProgress) => void;
  signal?: AbortSignal;
  /** Resume after a checkpoint: the first epoch to run (1-based) and the epochs already done. */
  resume?: { startEpoch: number; history: EpochRecord[] };
  /** After each completed epoch, with the weights in the model (to save a checkpoint). */
  onEpochEnd?: (epoch: number, history: readonly EpochRecord[]) => Promise<void>;
}

/** Seeded Fisher–Yates shuffle of 0..n-1. */
export function shuffledIndices(n: number, seed: number): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  const random = seededRandom(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
  return order;
}

/** Splits 0..n-1 into shuffled train and validation indices. */
export function splitIndices(n: number, validationSplit: number, seed: number): { train: Int32Array; val: Int32Array } {
  const order = shuffledIndices(n, seed);
  const valCount = validationSplit > 0 ? Math.max(1, Math.round(n * validationSplit)) : 0;
  if (n - valCount < 1)
    throw new AppError('invalid_input', `${n} images leave none to train on after a validation split of ${validationSplit}`);
  return { train: order.slice(valCount), val: order.slice(0, valCount) };
}

/** Adam with PyTorch's defaults (β1 0.9, β2 0.999, ε 1e-8), so runs compare with the reference. */
export function createAdam(learningRate: number): tf.Optimizer {
  return tf.train.adam(learningRate, 0.9, 0.999, 1e-8);
}

export const nextTick = () => new Promise<void>((resolve) => setImmediate(resolve));

export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new AppError('cancelled', 'training was cancelled');
}

interface FitPhase {
  phase: TrainProgress['phase'];
  layer?: number;
  vars: tf.Variable[];
  /** Loss of one batch; `indices` are the images' positions in the set (for labels). */
  lossOf: (x: Tensor4D, indices: Int32Array, step: number) => tf.Scalar;
}

/** Mean of `lossOf` over `indices` in batches, without gradients. */
function evaluate(set: ImageSet, indices: Int32Array, lossOf: FitPhase['lossOf'], batchSize = 1000): number {
  let total = 0;
  for (let s = 0; s < indices.length; s += batchSize) {
    const e = Math.min(indices.length, s + batchSize);
    total += tf.tidy(() => lossOf(batchTensor(set, indices, s, e), indices.subarray(s, e), -1).dataSync()[0]!) * (e - s);
  }
  return total / indices.length;
}

async function fit(
  set: ImageSet,
  split: { train: Int32Array; val: Int32Array },
  phase: FitPhase,
  options: TrainOptions,
  hooks: TrainHooks,
  history: EpochRecord[],
): Promise<{ stoppedEarly: boolean; bestEpoch: number; imagesPerSec: number }> {
  const { epochs, batchSize, learningRate, seed, earlyStopping } = options;
  const optimizer = createAdam(learningRate);
  const batches = Math.ceil(split.train.length / batchSize);
  let best = Infinity;
  let bestEpoch = 0;
  let bestWeights: tf.Tensor[] | null = null;
  let stale = 0;
  let stoppedEarly = false;
  let images = 0;
  const started = performance.now();
  try {
    for (let epoch = hooks.resume?.startEpoch ?? 1; epoch <= epochs; epoch++) {
      const order = shuffledIndices(split.train.length, seed + epoch);
      const epochStart = performance.now();
      let sum = 0;
      for (let b = 0; b < batches; b++) {
        throwIfAborted(hooks.signal);
        const s = b * batchSize;
        const e = Math.min(split.train.length, s + batchSize);
        const idx = new Int32Array(e - s);
        for (let k = 0; k < idx.length; k++) idx[k] = split.train[order[s + k]!]!;
        const step = (epoch - 1) * batches + b;
        const loss = tf.tidy(() => {
          const x = batchTensor(set, idx, 0, idx.length);
          const cost = optimizer.minimize(() => phase.lossOf(x, idx, step), true, phase.vars);
          return cost!.dataSync()[0]!;
        });
        if (!Number.isFinite(loss))
          throw new AppError(
            'invalid_input',
            `training diverged (loss ${loss}) at epoch ${epoch}, batch ${b + 1}; try a lower learning rate`,
          );
        sum += loss * idx.length;
        images += idx.length;
        const elapsed = (performance.now() - started) / 1000;
        const rate = images / Math.max(elapsed, 1e-9);
        const remaining = (epochs - epoch) * split.train.length + (split.train.length - e);
        hooks.onProgress?.({
          phase: phase.phase,
          ...(phase.layer !== undefined ? { layer: phase.layer } : {}),
          epoch,
          epochs,
          batch: b + 1,
          batches,
          loss,
          valLoss: null,
          imagesPerSec: rate,
          etaSeconds: remaining / rate,
        });
        await nextTick();
      }
      const seconds = (performance.now() - epochStart) / 1000;
      const trainLoss = sum / split.train.length;
      const valLoss = split.val.length ? evaluate(set, split.val, phase.lossOf) : null;
      history.push({ phase: phase.phase, epoch, loss: trainLoss, valLoss, imagesPerSec: split.train.length / seconds, seconds });
      hooks.onProgress?.({
        phase: phase.phase,
        ...(phase.layer !== undefined ? { layer: phase.layer } : {}),
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
      const monitored = valLoss ?? trainLoss;
      if (monitored < best - (earlyStopping?.minDelta ?? 0)) {
        best = monitored;
        bestEpoch = epoch;
        stale = 0;
        if (earlyStopping) {
          tf.dispose(bestWeights ?? []);
          bestWeights = phase.vars.map((v) => tf.clone(v));
        }
      } else if (earlyStopping && ++stale >= earlyStopping.patience) {
        stoppedEarly = true;
        break;
      }
      await hooks.onEpochEnd?.(epoch, history);
    }
    if (stoppedEarly && bestWeights) phase.vars.forEach((v, i) => v.assign(bestWeights![i]!));
  } finally {
    tf.dispose(bestWeights ?? []);
    optimizer.dispose();
  }
  return { stoppedEarly, bestEpoch, imagesPerSec: images / ((performance.now() - started) / 1000) };
}

/** Corrupts a batch with Gaussian noise of std `factor`, clipped to [0,1] (denoising AE). */
export function addNoise(x: Tensor4D, factor: number, seed?: number): Tensor4D {
  return tf.tidy(() => tf.clipByValue(tf.add(x, tf.randomNormal(x.shape, 0, factor, 'float32', seed)), 0, 1) as Tensor4D);
}

/** The batch objective of `trainAutoencoder`: reconstruction (+ KL), denoising noise when set. */
export function autoencoderObjective(model: Autoencoder, options: Pick<TrainOptions, 'seed'>) {
  const noise = model.spec.denoising?.noiseFactor;
  return (x: Tensor4D, step: number, stream = 0): tf.Scalar =>
    model.loss(noise && step >= 0 ? addNoise(x, noise, options.seed * 7919 + step * 16 + stream) : x, x);
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
  const split = splitIndices(set.count, options.validationSplit, options.seed);
  const objective = autoencoderObjective(model, options);
  const history: EpochRecord[] = [...(hooks.resume?.history ?? [])];
  const result = await fit(
    set,
    split,
    {
      phase: 'train',
      vars: model.autoencoderParams,
      lossOf: (x, _idx, step) => objective(x, step),
    },
    options,
    hooks,
    history,
  );
  return { history, ...result };
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
  const layers = spec.hidden.length + 1;
  // Layer-wise phases do not resume from checkpoints: only progress and cancellation pass through.
  const stackHooks: TrainHooks = {
    ...(hooks.onProgress ? { onProgress: hooks.onProgress } : {}),
    ...(hooks.signal ? { signal: hooks.signal } : {}),
  };
  let images = 0;
  let seconds = 0;
  for (let layer = 0; layer < layers; layer++) {
    const below = (x: Tensor4D) => {
      let h = tf.reshape(x, [x.shape[0], -1]) as tf.Tensor2D;
      for (let i = 0; i < layer; i++) h = model.encodeLayer(h, i);
      return h;
    };
    const r = await fit(
      set,
      split,
      {
        phase: 'pretrain',
        layer,
        vars: [`enc/dense${layer}/kernel`, `enc/dense${layer}/bias`, `dec/dense${layer}/kernel`, `dec/dense${layer}/bias`].map((n) =>
          model.p(n),
        ),
        lossOf: (x) => {
          const input = below(x);
          const recon = model.decodeLayer(model.encodeLayer(input, layer), layer);
          const lossFn = layer === 0 ? RECONSTRUCTION_LOSSES[spec.loss] : meanSquaredError;
          return lossFn(recon, input) as tf.Scalar;
        },
      },
      options,
      stackHooks,
      history,
    );
    images += split.train.length * options.epochs;
    seconds += (split.train.length * options.epochs) / r.imagesPerSec;
  }
  const labelTensor = (idx: Int32Array) =>
    tf.oneHot(
      tf.tensor1d(
        Array.from(idx, (i) => labels[i]!),
        'int32',
      ),
      spec.classes,
    );
  const finetune = await fit(
    set,
    split,
    {
      phase: 'finetune',
      vars: [...model.params].filter(([n]) => n.startsWith('enc/') || n.startsWith('cls/')).map(([, v]) => v),
      lossOf: (x, idx) =>
        tf.losses.softmaxCrossEntropy(
          labelTensor(idx),
          tf.add(tf.matMul(model.encode(x), model.p('cls/kernel')), model.p('cls/bias')),
        ) as tf.Scalar,
    },
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
  return {
    history,
    stoppedEarly: finetune.stoppedEarly,
    bestEpoch: finetune.bestEpoch,
    imagesPerSec:
      (images + split.train.length * options.epochs) / (seconds + (split.train.length * options.epochs) / finetune.imagesPerSec),
    valAccuracy: correct / evalSet.length,
  };
}
