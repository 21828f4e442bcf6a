/**
 * The fast wasm gradients when the wasm memory grows inside them. Growing the memory detaches
 * every view of the heap taken before it; a kernel that took its input views before allocating its
 * output read `undefined` from them and returned all-zero gradients. It showed first with the
 * two-view objective, whose triple-size batches grew the heap mid-training. Here the growth is
 * forced right after the kernel allocates an output of a given shape, on small tensors, and the
 * gradients are compared with the cpu backend's.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../../lib/engine/tf';
import { onBackend, relativeError, startWasm } from '../../helpers/engine';

beforeAll(startWasm);

interface WasmInternals {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  wasm: { _malloc(bytes: number): number; _free(pointer: number): void; HEAPU8: Uint8Array };
}

/** Runs `fn` on wasm with the heap made to grow each time an output of one of `shapes` is allocated. */
async function withGrowthAfter<T>(shapes: number[][], fn: () => T): Promise<{ result: T; growths: number }> {
  return onBackend('wasm', () => {
    const backend = tf.backend() as unknown as WasmInternals;
    const original = backend.makeOutput;
    const keys = new Set(shapes.map((s) => s.join('×')));
    let growths = 0;
    backend.makeOutput = function (shape, dtype) {
      const out = original.call(this, shape, dtype);
      if (keys.has(shape.join('×'))) {
        const before = backend.wasm.HEAPU8.buffer.byteLength;
        // More than the heap holds: the allocator must grow the memory (and then gives it back).
        backend.wasm._free(backend.wasm._malloc(before));
        if (backend.wasm.HEAPU8.buffer.byteLength > before) growths++;
      }
      return out;
    };
    try {
      return { result: fn(), growths };
    } finally {
      backend.makeOutput = original;
    }
  });
}

const random = (shape: number[], seed: number) =>
  tf.tidy(() => tf.randomNormal([shape.reduce((a, b) => a * b)], 0, 1, 'float32', seed).dataSync() as Float32Array);

describe('gradients stay right when the wasm memory grows inside the kernel', () => {
  it('maxPool', async () => {
    const shape: [number, number, number, number] = [2, 7, 9, 3];
    const xv = random(shape, 1).map((v) => Math.round(v * 2));
    const run = () =>
      tf.tidy(() =>
        tf
          .grad((a: tf.Tensor) => {
            const y = tf.maxPool(a as tf.Tensor4D, 2, 2, 'same');
            return tf.sum(tf.mul(y, tf.range(1, 1 + y.size).reshape(y.shape)));
          })(tf.tensor4d(xv, shape))
          .dataSync()
          .slice(),
      );
    const { result, growths } = await withGrowthAfter([shape], run);
    expect(growths).toBeGreaterThan(0);
    expect(relativeError(result, await onBackend('cpu', run))).toBe(0);
  });

  it('resizeNearestNeighbor', async () => {
    const shape: [number, number, number, number] = [1, 4, 5, 3];
    const xv = random(shape, 2);
    const gv = random([1, 8, 10, 3], 3);
    const run = () =>
      tf.tidy(() =>
        tf
          .grad((a: tf.Tensor) =>
            tf.sum(tf.mul(tf.image.resizeNearestNeighbor(a as tf.Tensor4D, [8, 10]), tf.tensor4d(gv, [1, 8, 10, 3]))),
          )(tf.tensor4d(xv, shape))
          .dataSync()
          .slice(),
      );
    const { result, growths } = await withGrowthAfter([shape], run);
    expect(growths).toBeGreaterThan(0);
    expect(relativeError(result, await onBackend('cpu', run))).toBeLessThan(1e-5);
  });

  it('conv2d input and filter gradients (phase filter, swapped roles)', async () => {
    // 6→2 channels, stride 1: the filter gradient takes the swapped-roles path; the input
    // gradient builds a phase filter [3, 3, 2, 6] from the weights.
    const xs: [number, number, number, number] = [2, 9, 8, 6];
    const ws: [number, number, number, number] = [3, 3, 6, 2];
    const xv = random(xs, 4);
    const wv = random(ws, 5);
    const run = () =>
      tf.tidy(() => {
        const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same'))),
        )([tf.tensor4d(xv, xs), tf.tensor4d(wv, ws)]);
        return [dx!.dataSync().slice(), dw!.dataSync().slice()];
      });
    const { result, growths } = await withGrowthAfter([ws, [3, 3, 2, 6]], run);
    expect(growths).toBeGreaterThan(1);
    const cpu = await onBackend('cpu', run);
    expect(relativeError(result[0]!, cpu[0]!)).toBeLessThan(1e-4);
    expect(relativeError(result[1]!, cpu[1]!)).toBeLessThan(1e-4);
  });
});
