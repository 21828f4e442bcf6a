/**
 * The building blocks of the autoencoder family as plain functions on tensors, so the course's
 * worked examples can test each one exactly: convolution, pooling, the three upsampling modes,
 * dense layers, and the PyTorch-compatible initialisation that lets our training match the
 * reference implementation.
 */
import { tf, type Tensor, type Tensor2D, type Tensor4D } from '../engine/tf';

export type Activation = 'sigmoid' | 'relu' | 'linear';
export type Upsampling = 'nearest' | 'bilinear' | 'transposed';

/** Padding of a k×k, stride-s convolution as PyTorch's `padding=k//2`: [[0,0],[p,p],[p,p],[0,0]]. */
export function torchPadding(kernelSize: number): [[number, number], [number, number], [number, number], [number, number]] {
  const p = Math.floor(kernelSize / 2);
  return [
    [0, 0],
    [p, p],
    [p, p],
    [0, 0],
  ];
}

/** Output size of a PyTorch-style padded convolution: floor((n + 2p − k) / s) + 1. */
export function convOutputSize(size: number, kernelSize: number, stride: number): number {
  const p = Math.floor(kernelSize / 2);
  return Math.floor((size + 2 * p - kernelSize) / stride) + 1;
}

/** Output size of 2×2 max pooling with SAME padding: ceil(n / 2). */
export function poolOutputSize(size: number): number {
  return Math.ceil(size / 2);
}

export function activate(x: Tensor, activation: Activation): Tensor {
  if (activation === 'relu') return tf.relu(x);
  if (activation === 'sigmoid') return tf.sigmoid(x);
  return x;
}

/** y = s(xW + b), one fused XNNPACK matmul on wasm. */
export function dense(x: Tensor2D, kernel: Tensor2D, bias: Tensor, activation: Activation): Tensor2D {
  const fused = activation === 'sigmoid' ? 'linear' : activation;
  const y = tf.fused.matMul({ a: x, b: kernel, bias, activation: fused });
  return activation === 'sigmoid' ? (tf.sigmoid(y) as Tensor2D) : (y as Tensor2D);
}

/** 2-D convolution (cross-correlation, as in the course) + bias + activation. */
export function conv(
  x: Tensor4D,
  filter: Tensor4D,
  bias: Tensor,
  stride: number,
  activation: Activation,
  pad: 'same' | 'valid' | ReturnType<typeof torchPadding> = 'same',
): Tensor4D {
  const fused = activation === 'sigmoid' ? 'linear' : activation;
  const y = tf.fused.conv2d({ x, filter, bias, strides: stride, pad, activation: fused });
  return activation === 'sigmoid' ? tf.sigmoid(y) : y;
}

/** 2×2 max pooling, SAME padding (odd sizes round up). */
export function maxPool2x2(x: Tensor4D): Tensor4D {
  return tf.maxPool(x, 2, 2, 'same');
}

/**
 * Transposed convolution of stride s to an exact output size, PyTorch-style padding k//2 with
 * the output padding implied by `outSize`. filter: [k, k, outChannels, inChannels].
 */
export function convTranspose(
  x: Tensor4D,
  filter: Tensor4D,
  bias: Tensor,
  stride: number,
  outSize: [number, number],
  activation: Activation,
): Tensor4D {
  const [n, inH, inW] = x.shape;
  const [k, , outChannels] = filter.shape;
  const top = Math.floor(k / 2);
  const bottom = stride * (inH - 1) + k - outSize[0] - top;
  const right = stride * (inW - 1) + k - outSize[1] - top;
  if (bottom < 0 || right < 0) throw new Error(`cannot upsample ${inH}×${inW} to ${outSize.join('×')} with stride ${stride}`);
  const y = tf.conv2dTranspose(x, filter, [n, outSize[0], outSize[1], outChannels], stride, [
    [0, 0],
    [top, bottom],
    [top, right],
    [0, 0],
  ]);
  return activate(tf.add(y, bias), activation) as Tensor4D;
}

/**
 * Group normalisation (Wu & He 2018) of NHWC `x`: each image's channels split into `groups`,
 * each group standardised over its positions and channels, then scaled by `gamma` and shifted by
 * `beta` per channel. Per image: independent of the batch and of how it is sharded.
 */
export function groupNorm(x: Tensor4D, gamma: Tensor, beta: Tensor, groups: number, epsilon = 1e-5): Tensor4D {
  const [n, h, w, c] = x.shape;
  const grouped = tf.reshape(x, [n, h * w, groups, c / groups]);
  const mean = tf.mean(grouped, [1, 3], true);
  const centred = tf.sub(grouped, mean);
  const variance = tf.mean(tf.square(centred), [1, 3], true);
  const normalised = tf.reshape(tf.mul(centred, tf.rsqrt(tf.add(variance, epsilon))), [n, h, w, c]);
  return tf.add(tf.mul(normalised, gamma), beta) as Tensor4D;
}

/** Resizes to `size` by nearest neighbour (2× repeats each value in a 2×2 block) or bilinear. */
export function upsample(x: Tensor4D, mode: Exclude<Upsampling, 'transposed'>, size: [number, number]): Tensor4D {
  return mode === 'nearest' ? tf.image.resizeNearestNeighbor(x, size) : tf.image.resizeBilinear(x, size, false, true);
}

/** PyTorch's default init, U(−1/√fanIn, 1/√fanIn), for a weight or bias tensor. */
export function torchUniform(shape: number[], fanIn: number, seed: number): Tensor {
  const bound = 1 / Math.sqrt(fanIn);
  return tf.randomUniform(shape, -bound, bound, 'float32', seed);
}
