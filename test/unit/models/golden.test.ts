/**
 * The course's worked examples, exact, on both the wasm backend (with our fast kernels) and the
 * reference cpu backend.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../../lib/engine/tf';
import { Autoencoder } from '../../../lib/models/autoencoder';
import { conv, maxPool2x2, upsample } from '../../../lib/models/layers';
import { parseModelSpec } from '../../../lib/models/spec';
import { onBackend, startWasm } from '../../helpers/engine';

beforeAll(startWasm);

const asImage = (rows: number[][]) => tf.tensor4d(rows.flat(), [1, rows.length, rows[0]!.length, 1]);
const asFilter = (rows: number[][]) => tf.tensor4d(rows.flat(), [rows.length, rows[0]!.length, 1, 1]);
const rowsOf = (t: tf.Tensor) => t.squeeze().arraySync() as number[][];

for (const backend of ['wasm', 'cpu'] as const) {
  describe(`course examples on ${backend}`, () => {
    it("dense AE: z = ReLU(Wᵀx) = [0,2], x̂ = ReLU(W'z) = [0,2,0], squared error 10", async () => {
      const spec = parseModelSpec({
        arch: 'dense',
        inputShape: [1, 3, 1],
        latentSize: 2,
        activation: 'relu',
        latentActivation: 'relu',
        outputActivation: 'relu',
      });
      const model = Autoencoder.create(spec);
      const W = [
        [1, 2],
        [1, 0],
        [-1, 0],
      ]; // encoder, 3×2: z = ReLU(Wᵀx)
      const Wdec = [
        [2, 0],
        [0, 1],
        [0, 0],
      ]; // decoder, 3×2: x̂ = ReLU(W z), so the kernel is Wᵀ (2×3)
      model.writeWeights(
        new Map([
          ['enc/dense0/kernel', W.flat()],
          ['enc/dense0/bias', [0, 0]],
          ['dec/dense0/kernel', [0, 1].flatMap((j) => Wdec.map((row) => row[j]!))],
          ['dec/dense0/bias', [0, 0, 0]],
        ]),
      );
      const result = await onBackend(backend, () =>
        tf.tidy(() => {
          const x = tf.tensor4d([1, -1, 0], [1, 1, 3, 1]);
          const { code, output } = model.forward(x);
          const error = tf.sum(tf.squaredDifference(output, x));
          return { z: Array.from(code.dataSync()), xHat: Array.from(output.dataSync()), error: error.dataSync()[0] };
        }),
      );
      expect(result.z).toEqual([0, 2]);
      expect(result.xHat).toEqual([0, 2, 0]);
      expect(result.error).toBe(10);
      model.dispose();
    });

    it('conv AE: SAME convolution, ReLU, 2×2 max pooling, second convolution, nearest upsampling', async () => {
      const image = [
        [0, 1, 4, 2, 8, 2],
        [5, 3, 0, 1, 0, 5],
        [1, 5, 3, 2, 9, 3],
        [9, 8, 5, 7, 8, 7],
        [7, 2, 7, 9, 9, 4],
        [7, 1, 8, 7, 5, 3],
      ];
      const out = await onBackend(backend, () =>
        tf.tidy(() => {
          const zero = tf.zeros([1]);
          const convolved = conv(
            asImage(image),
            asFilter([
              [1, 0, 1],
              [0, -1, 1],
              [1, 1, 0],
            ]),
            zero,
            1,
            'linear',
            'same',
          );
          const pooled = maxPool2x2(tf.relu(convolved));
          const second = conv(
            pooled,
            asFilter([
              [1, 1, 0],
              [0, 1, 1],
              [1, 0, 1],
            ]),
            zero,
            1,
            'linear',
            'same',
          );
          const up = upsample(second, 'nearest', [6, 6]);
          return { convolved: rowsOf(convolved), pooled: rowsOf(pooled), second: rowsOf(second), up: rowsOf(up) };
        }),
      );
      expect(out.convolved).toEqual([
        [6, 11, 1, 7, -5, 3],
        [0, 7, 12, 16, 20, 15],
        [16, 20, 16, 19, 15, 12],
        [11, 10, 18, 29, 22, 15],
        [10, 27, 26, 28, 21, 12],
        [-4, 21, 10, 14, 11, 6],
      ]);
      expect(out.pooled).toEqual([
        [11, 16, 20],
        [20, 29, 22],
        [27, 28, 21],
      ]);
      expect(out.second).toEqual([
        [56, 78, 49],
        [88, 126, 86],
        [75, 98, 72],
      ]);
      expect(out.up).toEqual([
        [56, 56, 78, 78, 49, 49],
        [56, 56, 78, 78, 49, 49],
        [88, 88, 126, 126, 86, 86],
        [88, 88, 126, 126, 86, 86],
        [75, 75, 98, 98, 72, 72],
        [75, 75, 98, 98, 72, 72],
      ]);
    });

    it('transposed convolution: VALID conv → [[−4,4],[−8,−4]], its transpose = Cᵀy', async () => {
      const input = [
        [4, 3, 2, 1],
        [1, 4, 3, 2],
        [2, 1, 4, 3],
        [1, 2, 3, 4],
      ];
      const filter = [
        [1, 0, -1],
        [2, 0, -2],
        [1, 0, -1],
      ];
      const out = await onBackend(backend, () =>
        tf.tidy(() => {
          const y = tf.conv2d(asImage(input), asFilter(filter), 1, 'valid');
          const t = tf.conv2dTranspose(y, asFilter(filter), [1, 4, 4, 1], 1, 'valid');
          return { y: rowsOf(y), t: rowsOf(t) };
        }),
      );
      expect(out.y).toEqual([
        [-4, 4],
        [-8, -4],
      ]);
      expect(out.t).toEqual([
        [-4, 4, 4, -4],
        [-16, 4, 16, -4],
        [-20, -4, 20, 4],
        [-8, -4, 8, 4],
      ]);
      // The 4×16 convolution matrix C: row (i,j) holds the filter placed at (i,j) of the 4×4 input.
      const C = Array.from({ length: 4 }, (_, r) => {
        const [i, j] = [Math.floor(r / 2), r % 2];
        const row = new Array<number>(16).fill(0);
        for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) row[(i + a) * 4 + j + b] = filter[a]![b]!;
        return row;
      });
      const y = out.y.flat();
      const x = input.flat();
      expect(C.map((row) => row.reduce((s, c, k) => s + c * x[k]!, 0))).toEqual(y);
      const cty = Array.from({ length: 16 }, (_, k) => C.reduce((s, row, r) => s + row[k]! * y[r]!, 0));
      expect(out.t.flat()).toEqual(cty);
    });
  });
}
