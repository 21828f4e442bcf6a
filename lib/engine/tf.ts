/**
 * The single import point for TensorFlow.js. Every other module takes `tf` from here so that
 * one engine instance (and its registered kernels and backends) is shared by the whole process.
 */
import * as tf from '@tensorflow/tfjs';

export { tf };
export type Tensor = tf.Tensor;
export type Tensor1D = tf.Tensor1D;
export type Tensor2D = tf.Tensor2D;
export type Tensor4D = tf.Tensor4D;
