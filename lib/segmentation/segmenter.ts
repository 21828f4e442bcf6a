/**
 * The segmentation encoder-decoder of Yuan et al. (2019), "Deep smoke segmentation", scaled to a
 * CPU: VGG-style encoder blocks (3×3 conv+ReLU, then 2×2 max pooling) for global context, a
 * decoder of one 3×3 conv per level after the autoencoder family's upsampling modes (asymmetric,
 * lighter than the encoder), skip connections by concatenation that can be switched off, an
 * optional shallow full-resolution path for local detail, and a 1×1 head giving per-pixel logits
 * (sigmoid for two classes, softmax for more). Parameters are named tf.Variables with seeded He
 * initialisation; training, inference and saving live in their own modules.
 */
import { tf, type Tensor, type Tensor4D } from '../engine/tf';
import { conv, convTranspose, maxPool2x2, poolOutputSize, upsample } from '../models/layers';
import { diceLoss, sigmoidCrossEntropy } from '../models/losses';
import { initialParams, paramsFromWeights, TrainableModel, type ParamDef } from '../models/trainable-model';
import { outputChannels, type SegmentationSpec } from './segmentation-spec';

const KERNEL = 3;

const BN_EPSILON = 1e-3;
/** Share of the moving statistics kept at each training step. */
const BN_MOMENTUM = 0.9;

/** Spatial size of each encoder level: the input first, the bottleneck (after every pooling) last. */
export function segmentationLevels(spec: SegmentationSpec): [number, number][] {
  const levels: [number, number][] = [[spec.inputShape[0], spec.inputShape[1]]];
  for (let i = 0; i < spec.filters.length; i++) {
    const [h, w] = levels[i]!;
    levels.push([poolOutputSize(h), poolOutputSize(w)]);
  }
  return levels;
}

function paramDefs(spec: SegmentationSpec): ParamDef[] {
  const defs: ParamDef[] = [];
  const add = (name: string, k: number, inC: number, outC: number, norm = spec.batchNorm) => {
    defs.push({ name: `${name}/kernel`, shape: [k, k, inC, outC], fanIn: inC * k * k });
    defs.push({ name: `${name}/bias`, shape: [outC], fanIn: 0 });
    if (norm) {
      defs.push({ name: `${name}/gamma`, shape: [outC], fanIn: -1 });
      defs.push({ name: `${name}/beta`, shape: [outC], fanIn: 0 });
      defs.push({ name: `${name}/movingMean`, shape: [outC], fanIn: 0, trainable: false });
      defs.push({ name: `${name}/movingVariance`, shape: [outC], fanIn: -1, trainable: false });
    }
  };
  const { filters } = spec;
  const depth = filters.length;
  let channels: number = spec.inputShape[2];
  filters.forEach((f, i) => {
    for (let j = 0; j < spec.convsPerBlock; j++) {
      add(`enc/block${i}/conv${j}`, KERNEL, channels, f);
      channels = f;
    }
  });
  add('mid/conv', KERNEL, channels, filters[depth - 1]!);
  channels = filters[depth - 1]!;
  if (spec.shallow) {
    add('shallow/conv0', KERNEL, spec.inputShape[2], spec.shallow.filters);
    add('shallow/conv1', KERNEL, spec.shallow.filters, spec.shallow.filters);
  }
  for (let i = depth - 1; i >= 0; i--) {
    const f = filters[i]!;
    if (spec.upsampling === 'transposed') {
      // tf layout [k, k, out, in]; the conv that follows sees f channels (+ the skip).
      defs.push({ name: `dec/up${i}/kernel`, shape: [KERNEL, KERNEL, f, channels], fanIn: (channels * KERNEL * KERNEL) / 4 });
      defs.push({ name: `dec/up${i}/bias`, shape: [f], fanIn: 0 });
      channels = f;
    }
    const extra = (spec.skip ? f : 0) + (i === 0 && spec.shallow ? spec.shallow.filters : 0);
    add(`dec/conv${i}`, KERNEL, channels + extra, f);
    channels = f;
  }
  add('head', 1, channels, outputChannels(spec), false);
  return defs;
}

/** He-uniform weights (ReLU nets this deep lose their signal under PyTorch's default scale), zero biases; fanIn 0: zeros, −1: ones. */
function initialValue(def: ParamDef, seed: number): Tensor {
  if (def.fanIn === 0) return tf.zeros(def.shape);
  if (def.fanIn === -1) return tf.ones(def.shape);
  const bound = Math.sqrt(6 / def.fanIn);
  return tf.randomUniform(def.shape, -bound, bound, 'float32', seed);
}

export class Segmenter extends TrainableModel<SegmentationSpec> {
  /** A fresh model with seeded initial weights. */
  static create(spec: SegmentationSpec): Segmenter {
    return new Segmenter(
      spec,
      initialParams(paramDefs(spec), (def, i) => initialValue(def, spec.seed * 1000 + i)),
    );
  }

  /** A model from saved weights; every weight's size is checked against the spec. */
  static fromWeights(spec: SegmentationSpec, weights: Map<string, Float32Array>): Segmenter {
    return new Segmenter(spec, paramsFromWeights(paramDefs(spec), weights));
  }

  /** Output channels: 1 (p(foreground)) or one per class. */
  get outputChannels(): number {
    return outputChannels(this.spec);
  }

  /** Batch statistics of the current training forward pass, folded into the moving ones after the step. */
  private batchStats: { name: string; mean: Tensor; variance: Tensor }[] | null = null;

  /** The parameters the optimizer updates (not the batch-norm moving statistics). */
  get trainableParams(): tf.Variable[] {
    return [...this.params.values()].filter((v) => v.trainable);
  }

  /** 3×3 conv (+ batch norm: batch statistics while training, moving ones otherwise) + activation. */
  private conv(h: Tensor4D, name: string, activation: 'relu' | 'linear' = 'relu'): Tensor4D {
    const kernel = this.p(`${name}/kernel`) as unknown as Tensor4D;
    if (!this.spec.batchNorm) return conv(h, kernel, this.p(`${name}/bias`), 1, activation, 'same');
    const y = conv(h, kernel, this.p(`${name}/bias`), 1, 'linear', 'same');
    let mean: Tensor = this.p(`${name}/movingMean`);
    let variance: Tensor = this.p(`${name}/movingVariance`);
    if (this.batchStats) {
      ({ mean, variance } = tf.moments(y, [0, 1, 2]));
      this.batchStats.push({ name, mean: tf.keep(mean), variance: tf.keep(variance) });
    }
    // y·s + t with s = γ/√(σ²+ε), t = β − μ·s: broadcasting arithmetic, whose gradients are plain
    // sums; tf.batchNorm's gradient tiles its [C] vectors to the full tensor (wasm Tile: ~40% of a step).
    const scale = tf.mul(this.p(`${name}/gamma`), tf.rsqrt(tf.add(variance, BN_EPSILON)));
    const normed = tf.add(tf.mul(y, scale), tf.sub(this.p(`${name}/beta`), tf.mul(mean, scale)));
    return (activation === 'relu' ? tf.relu(normed) : normed) as Tensor4D;
  }

  /** Folds the last training step's batch statistics into the moving ones (momentum 0.9). */
  updateMovingStatistics(): void {
    const stats = this.batchStats ?? [];
    this.batchStats = null;
    tf.tidy(() => {
      for (const { name, mean, variance } of stats) {
        const movingMean = this.p(`${name}/movingMean`);
        const movingVariance = this.p(`${name}/movingVariance`);
        movingMean.assign(tf.add(tf.mul(movingMean, BN_MOMENTUM), tf.mul(mean, 1 - BN_MOMENTUM)));
        movingVariance.assign(tf.add(tf.mul(movingVariance, BN_MOMENTUM), tf.mul(variance, 1 - BN_MOMENTUM)));
      }
    });
    tf.dispose(stats.flatMap((s) => [s.mean, s.variance]));
  }

  /** Images [n, h, w, c] in [0,1] → per-pixel logits [n, h, w, outputChannels]. */
  logits(x: Tensor4D): Tensor4D {
    const spec = this.spec;
    const levels = segmentationLevels(spec);
    const skips: Tensor4D[] = [];
    let h = x;
    spec.filters.forEach((_, i) => {
      for (let j = 0; j < spec.convsPerBlock; j++) h = this.conv(h, `enc/block${i}/conv${j}`);
      skips.push(h);
      h = maxPool2x2(h);
    });
    h = this.conv(h, 'mid/conv');
    const shallow = spec.shallow ? this.conv(this.conv(x, 'shallow/conv0'), 'shallow/conv1') : null;
    for (let i = spec.filters.length - 1; i >= 0; i--) {
      const size = levels[i]!;
      h =
        spec.upsampling === 'transposed'
          ? convTranspose(h, this.p(`dec/up${i}/kernel`) as unknown as Tensor4D, this.p(`dec/up${i}/bias`), 2, size, 'relu')
          : upsample(h, spec.upsampling, size);
      const parts = [h, ...(spec.skip ? [skips[i]!] : []), ...(i === 0 && shallow ? [shallow] : [])];
      h = this.conv(parts.length > 1 ? tf.concat(parts, 3) : h, `dec/conv${i}`);
    }
    return conv(h, this.p('head/kernel') as unknown as Tensor4D, this.p('head/bias'), 1, 'linear', 'valid');
  }

  /** Images → per-pixel probabilities [n, h, w, outputChannels] (sigmoid or softmax). */
  predict(x: Tensor4D): Tensor4D {
    return tf.tidy(() => {
      const z = this.logits(x);
      return this.outputChannels === 1 ? tf.sigmoid(z) : tf.softmax(z);
    });
  }

  /**
   * Training objective for targets [n, h, w, outputChannels]: 0/1 foreground for one channel,
   * one-hot classes otherwise. `training`: batch norm uses (and records) the batch's statistics;
   * call `updateMovingStatistics` after the step.
   */
  loss(x: Tensor4D, target: Tensor4D, training = false): tf.Scalar {
    if (training && this.spec.batchNorm) this.batchStats = [];
    return tf.tidy(() => {
      const z = this.logits(x);
      const binary = this.outputChannels === 1;
      const terms: Tensor[] = [];
      if (this.spec.loss !== 'dice') terms.push(binary ? sigmoidCrossEntropy(z, target) : tf.losses.softmaxCrossEntropy(target, z));
      if (this.spec.loss !== 'bce') terms.push(diceLoss(binary ? tf.sigmoid(z) : tf.softmax(z), target));
      return (terms.length === 1 ? terms[0]! : tf.addN(terms)) as tf.Scalar;
    });
  }
}
