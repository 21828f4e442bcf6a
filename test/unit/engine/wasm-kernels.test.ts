/**
 * The fast wasm gradients must equal the cpu backend's stock kernels: the filter and input
 * gradients of convolution, transposed convolution and matmul with transposed operands.
 * Tolerance: 1e-4 of the largest magnitude (float32 accumulation order differs).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../../lib/engine/tf';
import { onBackend, relativeError, startWasm } from '../../helpers/engine';

const TOLERANCE = 1e-4;

beforeAll(startWasm);

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];

function convGrads(xv: Float32Array, wv: Float32Array, gv: Float32Array, xs: number[], ws: number[], stride: number, pad: Pad) {
  return tf.tidy(() => {
    const x = tf.tensor4d(xv, xs as [number, number, number, number]);
    const w = tf.tensor4d(wv, ws as [number, number, number, number]);
    const f = (a: tf.Tensor4D, b: tf.Tensor4D) => {
      const y = tf.conv2d(a, b, stride, pad);
      const g = tf.tensor(gv.subarray(0, y.size), y.shape);
      return tf.sum(tf.mul(y, g));
    };
    const [dx, dw] = tf.grads(f as (...args: tf.Tensor[]) => tf.Tensor)([x, w]);
    return [dx!.dataSync().slice(), dw!.dataSync().slice()];
  });
}

function random(n: number, seed: number): Float32Array {
  return tf.tidy(() => tf.randomNormal([n], 0, 1, 'float32', seed).dataSync() as Float32Array);
}

const cases: { name: string; x: number[]; w: number[]; stride: number; pad: Pad }[] = [
  { name: 'stride 1 same, 3→5 channels', x: [2, 7, 7, 3], w: [3, 3, 3, 5], stride: 1, pad: 'same' },
  { name: 'stride 1 valid, 1→4', x: [3, 6, 5, 1], w: [3, 3, 1, 4], stride: 1, pad: 'valid' },
  { name: 'stride 1 same, fewer outputs 6→2 (roles swapped)', x: [2, 9, 8, 6], w: [3, 3, 6, 2], stride: 1, pad: 'same' },
  { name: 'stride 1 valid, 5→1 (roles swapped)', x: [3, 7, 6, 5], w: [3, 3, 5, 1], stride: 1, pad: 'valid' },
  { name: 'stride 1 kernel 5 same, 4→3 (roles swapped)', x: [2, 8, 8, 4], w: [5, 5, 4, 3], stride: 1, pad: 'same' },
  { name: 'stride 2 same, even size, 4→8', x: [2, 8, 8, 4], w: [3, 3, 4, 8], stride: 2, pad: 'same' },
  { name: 'stride 2 same, odd size, 2→3', x: [2, 7, 7, 2], w: [3, 3, 2, 3], stride: 2, pad: 'same' },
  { name: 'stride 2 valid, odd size, 3→2', x: [2, 9, 7, 3], w: [3, 3, 3, 2], stride: 2, pad: 'valid' },
  {
    name: 'stride 2 PyTorch padding 1, 1→8',
    x: [4, 28, 28, 1],
    w: [3, 3, 1, 8],
    stride: 2,
    pad: [
      [0, 0],
      [1, 1],
      [1, 1],
      [0, 0],
    ],
  },
  {
    name: 'stride 2 PyTorch padding 1, odd 7×7, 6→4',
    x: [3, 7, 7, 6],
    w: [3, 3, 6, 4],
    stride: 2,
    pad: [
      [0, 0],
      [1, 1],
      [1, 1],
      [0, 0],
    ],
  },
  { name: 'stride 2 kernel 5 same, 3→3', x: [2, 10, 10, 3], w: [5, 5, 3, 3], stride: 2, pad: 'same' },
  { name: 'stride 3 kernel 2 valid, 2→2', x: [2, 9, 9, 2], w: [2, 2, 2, 2], stride: 3, pad: 'valid' },
];

describe('conv2d gradients on wasm match cpu', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const xv = random(
        c.x.reduce((a, b) => a * b),
        1,
      );
      const wv = random(
        c.w.reduce((a, b) => a * b),
        2,
      );
      const gv = random(10_000, 3);
      const [cpuDx, cpuDw] = await onBackend('cpu', () => convGrads(xv, wv, gv, c.x, c.w, c.stride, c.pad));
      const [wasmDx, wasmDw] = await onBackend('wasm', () => convGrads(xv, wv, gv, c.x, c.w, c.stride, c.pad));
      expect(relativeError(wasmDx!, cpuDx!)).toBeLessThan(TOLERANCE);
      expect(relativeError(wasmDw!, cpuDw!)).toBeLessThan(TOLERANCE);
    });
  }
});

describe('conv2dTranspose on wasm matches cpu', () => {
  it('stride 2 to 7×7 and 14×14 with explicit padding', async () => {
    const y = random(2 * 4 * 4 * 6, 4);
    const w = random(3 * 3 * 5 * 6, 5);
    const run = () =>
      tf.tidy(() => {
        const t = tf.tensor4d(y, [2, 4, 4, 6]);
        const f = tf.tensor4d(w, [3, 3, 5, 6]);
        const a = tf.conv2dTranspose(t, f, [2, 7, 7, 5], 2, [
          [0, 0],
          [1, 1],
          [1, 1],
          [0, 0],
        ]);
        const b = tf.conv2dTranspose(t, f, [2, 8, 8, 5], 2, 'same');
        return [a.dataSync().slice(), b.dataSync().slice()];
      });
    const cpu = await onBackend('cpu', run);
    const wasm = await onBackend('wasm', run);
    expect(relativeError(wasm[0]!, cpu[0]!)).toBeLessThan(TOLERANCE);
    expect(relativeError(wasm[1]!, cpu[1]!)).toBeLessThan(TOLERANCE);
  });
});

describe('matMul with transposed operands on wasm matches cpu', () => {
  for (const [ta, tb] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ] as const) {
    it(`transposeA=${ta} transposeB=${tb}`, async () => {
      const a = random(6 * 5, 6);
      const b = random(5 * 4, 7);
      const run = () =>
        tf.tidy(() => {
          const ta2 = tf.tensor2d(a, ta ? [5, 6] : [6, 5]);
          const tb2 = tf.tensor2d(b, tb ? [4, 5] : [5, 4]);
          return tf.matMul(ta2, tb2, ta, tb).dataSync().slice();
        });
      const cpu = await onBackend('cpu', run);
      const wasm = await onBackend('wasm', run);
      expect(relativeError(wasm, cpu)).toBeLessThan(TOLERANCE);
    });
  }
});

describe('maxPool and nearest-neighbour resize gradients on wasm match cpu', () => {
  const poolCases: [string, number[], number, number, 'same' | 'valid'][] = [
    ['2×2 stride 2 same, odd size', [2, 7, 9, 3], 2, 2, 'same'],
    ['3×3 stride 2 valid', [2, 9, 9, 2], 3, 2, 'valid'],
    ['2×2 stride 1 same', [1, 5, 6, 4], 2, 1, 'same'],
  ];
  for (const [name, shape, size, stride, pad] of poolCases) {
    it(`maxPool ${name}`, async () => {
      // Quantised values make ties, which must go to the first maximum as on cpu.
      const xv = random(
        shape.reduce((a, b) => a * b),
        8,
      ).map((v) => Math.round(v * 2));
      const run = () =>
        tf.tidy(() => {
          const x = tf.tensor4d(xv, shape as [number, number, number, number]);
          const weights = (y: tf.Tensor) => tf.range(1, 1 + y.size).reshape(y.shape);
          return tf
            .grad((a: tf.Tensor) => {
              const y = tf.maxPool(a as tf.Tensor4D, size, stride, pad);
              return tf.sum(tf.mul(y, weights(y)));
            })(x)
            .dataSync()
            .slice();
        });
      expect(relativeError(await onBackend('wasm', run), await onBackend('cpu', run))).toBe(0);
    });
  }
  for (const [from, to, alignCorners] of [
    [[3, 3], [6, 6], false],
    [[4, 5], [7, 9], false],
    [[4, 5], [7, 9], true],
    [[6, 6], [4, 4], false],
  ] as const) {
    it(`resizeNearestNeighbor ${from.join('×')} → ${to.join('×')} alignCorners=${alignCorners}`, async () => {
      const xv = random(2 * from[0] * from[1] * 3, 9);
      const gv = random(2 * to[0] * to[1] * 3, 10);
      // One image at a time on cpu: tfjs's cpu ResizeNearestNeighborGrad mis-strides dy for batch > 1.
      const gradient = (n: number, xs: Float32Array, gs: Float32Array) =>
        tf.tidy(() => {
          const x = tf.tensor4d(xs, [n, from[0], from[1], 3]);
          const g = tf.tensor4d(gs, [n, to[0], to[1], 3]);
          return tf
            .grad((a: tf.Tensor) => tf.sum(tf.mul(tf.image.resizeNearestNeighbor(a as tf.Tensor4D, [to[0], to[1]], alignCorners), g)))(x)
            .dataSync()
            .slice();
        });
      const per = from[0] * from[1] * 3;
      const perOut = to[0] * to[1] * 3;
      const wasm = await onBackend('wasm', () => gradient(2, xv, gv));
      const cpu = await onBackend(
        'cpu',
        () =>
          new Float32Array([
            ...gradient(1, xv.subarray(0, per), gv.subarray(0, perOut)),
            ...gradient(1, xv.subarray(per), gv.subarray(perOut)),
          ]),
      );
      expect(relativeError(wasm, cpu)).toBeLessThan(TOLERANCE);
    });
  }
});

it('the fast kernels leak no tensors and no backend buffers', () => {
  const x = tf.randomNormal([2, 7, 7, 3]) as tf.Tensor4D;
  const w = tf.randomNormal([3, 3, 3, 4]) as tf.Tensor4D;
  const before = tf.memory().numTensors;
  const buffersBefore = tf.engine().backend.numDataIds();
  tf.tidy(() => {
    tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(
        tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, [
          [0, 0],
          [1, 1],
          [1, 1],
          [0, 0],
        ]),
      ),
    )([x, w]);
    tf.matMul(tf.ones([3, 2]), tf.ones([3, 4]), true, false);
  });
  expect(tf.memory().numTensors).toBe(before);
  expect(tf.engine().backend.numDataIds()).toBe(buffersBefore);
  tf.dispose([x, w]);
});
