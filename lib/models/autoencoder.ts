/**
 * An autoencoder of the course's family, built from a validated spec: its parameters (named
 * tf.Variables, PyTorch-style seeded initialisation) and its encoder and decoder as functions
 * of tensors. Training, inference and saving live in their own modules and use this one.
 */
import { tf, type Tensor2D, type Tensor4D } from '../engine/tf';
import {
  conv,
  convOutputSize,
  convTranspose,
  dense,
  groupNorm,
  maxPool2x2,
  poolOutputSize,
  torchPadding,
  torchUniform,
  upsample,
  type Activation,
} from './layers';
import { RECONSTRUCTION_LOSSES, softAssignments, sparsityPenalty } from './losses';
import { initialParams, paramsFromWeights, TrainableModel, type ParamDef } from './trainable-model';
import type { ConvSpec, ModelSpec } from './spec';

const KERNEL = 3;
/** The clustering head's centres [clusters, latentSize] (specs with `clustering`). */
export const CENTERS = 'clu/centers';
/** The search head's mean [latentSize] and projection [latentSize, latentSize] (specs with `embedding`). */
export const HEAD_MEAN = 'emb/mean';
export const HEAD_PROJECTION = 'emb/projection';
/** The two-view objective's projection head and SimSiam's predictor (specs with `contrastive`): dense layers `proj/<i>`, `pred/<i>`. */
export const PROJECTION = 'proj/';
export const PREDICTOR = 'pred/';

function denseLayerSizes(spec: ModelSpec): number[] {
  const [h, w, c] = spec.inputShape;
  const hidden = spec.arch === 'conv' ? [] : spec.hidden;
  return [h * w * c, ...hidden, spec.latentSize];
}

/** Spatial size at each level of a conv encoder, input first, bottleneck last. */
export function convLevels(spec: ConvSpec): [number, number][] {
  const levels: [number, number][] = [[spec.inputShape[0], spec.inputShape[1]]];
  for (let i = 0; i < spec.filters.length; i++) {
    const [h, w] = levels[i]!;
    const next = spec.downsample === 'stride' ? (n: number) => convOutputSize(n, KERNEL, 2) : poolOutputSize;
    levels.push([next(h), next(w)]);
  }
  return levels;
}

/** Groups of the encoder's group norm for `channels` channels: up to 8, dividing the channels. */
export function normGroups(channels: number): number {
  let groups = Math.min(8, channels);
  while (channels % groups !== 0) groups--;
  return groups;
}

function paramDefs(spec: ModelSpec): ParamDef[] {
  const defs: ParamDef[] = [];
  const add = (name: string, shape: number[], fanIn: number) => {
    defs.push({ name: `${name}/kernel`, shape, fanIn });
    defs.push({ name: `${name}/bias`, shape: [shape[shape.length - 1]!], fanIn });
  };
  if (spec.arch === 'conv') {
    const channels = [spec.inputShape[2], ...spec.filters];
    spec.filters.forEach((f, i) => add(`enc/conv${i}`, [KERNEL, KERNEL, channels[i]!, f], channels[i]! * KERNEL * KERNEL));
    const [h, w] = convLevels(spec)[spec.filters.length]!;
    const last = spec.filters[spec.filters.length - 1]!;
    const flat = h * w * last;
    const pooled = spec.pool === 'average' ? last : flat;
    add('enc/latent', [pooled, spec.latentSize], pooled);
    add('dec/dense', [spec.latentSize, flat], spec.latentSize);
    for (let i = spec.filters.length - 1; i >= 0; i--) {
      const inC = channels[i + 1]!;
      const outC = channels[i]!;
      if (spec.upsampling === 'transposed') {
        // tf layout [k, k, out, in]; PyTorch's fan-in for ConvTranspose is out·k·k.
        defs.push({ name: `dec/up${i}/kernel`, shape: [KERNEL, KERNEL, outC, inC], fanIn: outC * KERNEL * KERNEL });
        defs.push({ name: `dec/up${i}/bias`, shape: [outC], fanIn: outC * KERNEL * KERNEL });
      } else {
        add(`dec/up${i}`, [KERNEL, KERNEL, inC, outC], inC * KERNEL * KERNEL);
      }
    }
  } else {
    const sizes = denseLayerSizes(spec);
    for (let i = 0; i + 1 < sizes.length; i++) add(`enc/dense${i}`, [sizes[i]!, sizes[i + 1]!], sizes[i]!);
    for (let i = sizes.length - 2; i >= 0; i--) add(`dec/dense${i}`, [sizes[i + 1]!, sizes[i]!], sizes[i + 1]!);
    if (spec.arch === 'stacked') add('cls', [spec.latentSize, spec.classes], spec.latentSize);
  }
  // Overwritten by k-means on the codes before the clustering fine-tune; saved with the model.
  if (spec.clustering) defs.push({ name: CENTERS, shape: [spec.clustering.clusters, spec.latentSize], fanIn: spec.latentSize });
  // Fitted after training (`fitSearchHead`); an unfitted head is the identity.
  if (spec.embedding) {
    defs.push({ name: HEAD_MEAN, shape: [spec.latentSize], fanIn: 0 });
    defs.push({ name: HEAD_PROJECTION, shape: [spec.latentSize, spec.latentSize], fanIn: 0 });
  }
  // After every other parameter, so adding them leaves the others' seeded initial values as they were.
  if (spec.contrastive) {
    const widths = [spec.latentSize, ...spec.contrastive.projection];
    for (let i = 0; i + 1 < widths.length; i++) add(`${PROJECTION}${i}`, [widths[i]!, widths[i + 1]!], widths[i]!);
    if (spec.contrastive.loss === 'simsiam') {
      const out = widths[widths.length - 1]!;
      const predictor = [out, ...spec.contrastive.projection.slice(0, -1), out];
      for (let i = 0; i + 1 < predictor.length; i++) add(`${PREDICTOR}${i}`, [predictor[i]!, predictor[i + 1]!], predictor[i]!);
    }
  }
  if (spec.arch === 'conv' && spec.norm === 'group') {
    spec.filters.forEach((f, i) => {
      defs.push({ name: `enc/norm${i}/gamma`, shape: [f], fanIn: 0 });
      defs.push({ name: `enc/norm${i}/beta`, shape: [f], fanIn: 0 });
    });
  }
  return defs;
}

/** Initial value of a parameter: the identity search head, unit group-norm scales, zero shifts; else PyTorch's uniform. */
function initialValue(def: ParamDef, spec: ModelSpec, seed: number): tf.Tensor {
  if (def.name === HEAD_MEAN || def.name.endsWith('/beta')) return tf.zeros(def.shape);
  if (def.name === HEAD_PROJECTION) return tf.eye(spec.latentSize);
  if (def.name.endsWith('/gamma')) return tf.ones(def.shape);
  return torchUniform(def.shape, def.fanIn, seed);
}

export interface ForwardResult {
  code: Tensor2D;
  output: Tensor4D;
}

export class Autoencoder extends TrainableModel<ModelSpec> {
  /** A fresh model with seeded PyTorch-style initial weights. */
  static create(spec: ModelSpec): Autoencoder {
    return new Autoencoder(
      spec,
      initialParams(paramDefs(spec), (def, i) => initialValue(def, spec, spec.seed * 1000 + i)),
    );
  }

  /** A model from saved weights; shapes are checked against the spec. */
  static fromWeights(spec: ModelSpec, weights: Map<string, Float32Array>): Autoencoder {
    return new Autoencoder(spec, paramsFromWeights(paramDefs(spec), weights));
  }

  get latentSize(): number {
    return this.spec.latentSize;
  }

  /** The parameters of the autoencoder proper (not the classifier head, the cluster centres, the search head nor the projection head). */
  get autoencoderParams(): tf.Variable[] {
    return [...this.params].filter(([name]) => !/^(cls|clu|emb|proj|pred)\//.test(name)).map(([, v]) => v);
  }

  /** The two-view objective's projection head (and SimSiam's predictor); empty without `spec.contrastive`. */
  get projectionParams(): tf.Variable[] {
    return [...this.params].filter(([name]) => name.startsWith(PROJECTION) || name.startsWith(PREDICTOR)).map(([, v]) => v);
  }

  /** Codes → the projection head's output (ReLU between layers, linear last), where the two-view loss is taken. */
  project(code: Tensor2D): Tensor2D {
    return this.mlp(code, PROJECTION, this.spec.contrastive?.projection.length ?? 0);
  }

  /** SimSiam's predictor over projections. */
  predict(z: Tensor2D): Tensor2D {
    return this.mlp(z, PREDICTOR, this.spec.contrastive?.projection.length ?? 0);
  }

  private mlp(x: Tensor2D, prefix: string, layers: number): Tensor2D {
    let h = x;
    for (let i = 0; i < layers; i++) {
      h = dense(h, this.p(`${prefix}${i}/kernel`) as unknown as Tensor2D, this.p(`${prefix}${i}/bias`), i + 1 < layers ? 'relu' : 'linear');
    }
    return h;
  }

  /** Images [n, h, w, c] in [0,1] → codes [n, latentSize]. */
  encode(x: Tensor4D): Tensor2D {
    const spec = this.spec;
    if (spec.arch !== 'conv') {
      let h = tf.reshape(x, [x.shape[0], -1]) as Tensor2D;
      const layers = denseLayerSizes(spec).length - 1;
      for (let i = 0; i < layers; i++) h = this.encodeLayer(h, i);
      return h;
    }
    let h = x;
    const grouped = spec.norm === 'group';
    spec.filters.forEach((_, i) => {
      const kernel = this.p(`enc/conv${i}/kernel`) as unknown as Tensor4D;
      const bias = this.p(`enc/conv${i}/bias`);
      // With group norm the ReLU follows the normalisation.
      const act: Activation = grouped ? 'linear' : 'relu';
      let y = spec.downsample === 'stride' ? conv(h, kernel, bias, 2, act, torchPadding(KERNEL)) : conv(h, kernel, bias, 1, act, 'same');
      if (grouped) y = tf.relu(groupNorm(y, this.p(`enc/norm${i}/gamma`), this.p(`enc/norm${i}/beta`), normGroups(y.shape[3])));
      h = spec.downsample === 'stride' ? y : maxPool2x2(y);
    });
    const flat = (spec.pool === 'average' ? tf.mean(h, [1, 2]) : tf.reshape(h, [h.shape[0], -1])) as Tensor2D;
    return dense(flat, this.p('enc/latent/kernel') as unknown as Tensor2D, this.p('enc/latent/bias'), spec.latentActivation);
  }

  /**
   * Images → the vectors the library stores and searches: the codes through the search head
   * (centred, rotated, scaled, L2-normalised) where the spec has one, else the codes themselves.
   */
  embed(x: Tensor4D): Tensor2D {
    return this.headOf(this.searchCode(x));
  }

  /** The code the search head starts from: the mean of the image's and its mirror's codes with `embedding.mirror`, else the code. */
  searchCode(x: Tensor4D): Tensor2D {
    if (!this.spec.embedding?.mirror) return this.encode(x);
    return tf.div(tf.add(this.encode(x), this.encode(tf.reverse(x, 2))), 2);
  }

  /** Codes [n, latentSize] → search vectors; the identity without a search head. */
  headOf(code: Tensor2D): Tensor2D {
    if (!this.spec.embedding) return code;
    const projected = tf.matMul(tf.sub(code, this.p(HEAD_MEAN)), this.p(HEAD_PROJECTION));
    // A zero vector stays zero (no division by zero); every other one gets unit length.
    const norm = tf.maximum(tf.norm(projected, 'euclidean', 1, true), 1e-12);
    return tf.div(projected, norm);
  }

  /** One encoder layer of a dense/stacked AE: h_{i+1} = s(h_i W_i + b_i). */
  encodeLayer(h: Tensor2D, i: number): Tensor2D {
    const spec = this.spec as Exclude<ModelSpec, ConvSpec>;
    const last = i === denseLayerSizes(spec).length - 2;
    return dense(
      h,
      this.p(`enc/dense${i}/kernel`) as unknown as Tensor2D,
      this.p(`enc/dense${i}/bias`),
      last ? spec.latentActivation : spec.activation,
    );
  }

  /** One decoder layer of a dense/stacked AE: ĥ_i = s(h_{i+1} W'_i + b'_i). */
  decodeLayer(h: Tensor2D, i: number): Tensor2D {
    const spec = this.spec as Exclude<ModelSpec, ConvSpec>;
    return dense(
      h,
      this.p(`dec/dense${i}/kernel`) as unknown as Tensor2D,
      this.p(`dec/dense${i}/bias`),
      i === 0 ? spec.outputActivation : spec.activation,
    );
  }

  /** Codes [n, latentSize] → images [n, h, w, c]. */
  decode(z: Tensor2D): Tensor4D {
    const spec = this.spec;
    const [height, width, channels] = spec.inputShape;
    if (spec.arch !== 'conv') {
      let h = z;
      for (let i = denseLayerSizes(spec).length - 2; i >= 0; i--) h = this.decodeLayer(h, i);
      return tf.reshape(h, [z.shape[0], height, width, channels]) as Tensor4D;
    }
    const levels = convLevels(spec);
    const depth = spec.filters.length;
    const [bh, bw] = levels[depth]!;
    const flat = dense(z, this.p('dec/dense/kernel') as unknown as Tensor2D, this.p('dec/dense/bias'), 'relu');
    let h = tf.reshape(flat, [z.shape[0], bh, bw, spec.filters[depth - 1]!]) as Tensor4D;
    for (let i = depth - 1; i >= 0; i--) {
      const act: Activation = i === 0 ? spec.outputActivation : 'relu';
      const kernel = this.p(`dec/up${i}/kernel`) as unknown as Tensor4D;
      const bias = this.p(`dec/up${i}/bias`);
      h =
        spec.upsampling === 'transposed'
          ? convTranspose(h, kernel, bias, 2, levels[i]!, act)
          : conv(upsample(h, spec.upsampling, levels[i]!), kernel, bias, 1, act, 'same');
    }
    return h;
  }

  /** Class probabilities of the stacked AE's classifier head: softmax(code·W + b). */
  classify(x: Tensor4D): Tensor2D {
    if (this.spec.arch !== 'stacked') throw new Error('only a stacked AE has a classifier head');
    return tf.softmax(dense(this.encode(x), this.p('cls/kernel') as unknown as Tensor2D, this.p('cls/bias'), 'linear'));
  }

  /** Soft cluster assignments [n, clusters] of codes (DEC's Student-t kernel); needs a clustering head. */
  softAssign(code: Tensor2D): Tensor2D {
    if (!this.spec.clustering) throw new Error('this model has no clustering head (spec.clustering)');
    return softAssignments(code, this.p(CENTERS)) as Tensor2D;
  }

  forward(x: Tensor4D): ForwardResult {
    const code = this.encode(x);
    return { code, output: this.decode(code) };
  }

  /** Training objective: reconstruction loss against `target` (+ the sparse KL penalty). */
  loss(input: Tensor4D, target: Tensor4D): tf.Scalar {
    return this.reconstructionLoss(this.encode(input), target);
  }

  /** Reconstruction loss of codes already computed against `target` (+ the sparse KL penalty on them). */
  reconstructionLoss(code: Tensor2D, target: Tensor4D): tf.Scalar {
    let loss = RECONSTRUCTION_LOSSES[this.spec.loss](this.decode(code), target);
    if (this.spec.sparse) loss = tf.add(loss, sparsityPenalty(code, this.spec.sparse.rho, this.spec.sparse.beta));
    return loss as tf.Scalar;
  }
}
