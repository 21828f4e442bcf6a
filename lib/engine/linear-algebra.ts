/**
 * Dense linear algebra on the TensorFlow.js engine for evaluation and maps: exact k nearest
 * neighbours (squared L2) by chunked matrix products, and linear projections (PCA).
 */
import { tf } from './tf';

/**
 * For each of `nq` queries, the indices (into `base`) and squared L2 distances of its k nearest
 * base vectors. `skipSelf`: queries are the base itself; each point's own index is excluded.
 */
export function exactKnn(
  queries: Float32Array,
  nq: number,
  base: Float32Array,
  nb: number,
  dim: number,
  k: number,
  options: { chunk?: number; skipSelf?: boolean } = {},
): { indices: Int32Array; distances: Float32Array } {
  const chunk = options.chunk ?? 512;
  const kk = k + (options.skipSelf ? 1 : 0);
  const indices = new Int32Array(nq * k);
  const distances = new Float32Array(nq * k);
  tf.tidy(() => {
    const b = tf.tensor2d(base, [nb, dim]);
    const bNorm = tf.sum(tf.square(b), 1);
    for (let s = 0; s < nq; s += chunk) {
      const rows = Math.min(chunk, nq - s);
      tf.tidy(() => {
        const q = tf.tensor2d(queries.subarray(s * dim, (s + rows) * dim), [rows, dim]);
        const qNorm = tf.sum(tf.square(q), 1, true);
        const d = tf.add(tf.sub(bNorm, tf.mul(2, tf.matMul(q, b, false, true))), qNorm);
        const top = tf.topk(tf.neg(d), kk, true);
        const idx = top.indices.dataSync() as Int32Array;
        const val = top.values.dataSync() as Float32Array;
        for (let r = 0; r < rows; r++) {
          let out = 0;
          for (let j = 0; j < kk && out < k; j++) {
            const at = r * kk + j;
            if (options.skipSelf && idx[at] === s + r) continue;
            indices[(s + r) * k + out] = idx[at]!;
            distances[(s + r) * k + out] = Math.max(0, -val[at]!);
            out++;
          }
        }
      });
    }
  });
  return { indices, distances };
}

/** (data − mean) · matrix, for n rows of `dim` values and a dim × out matrix (row-major). */
export function project(data: Float32Array, n: number, dim: number, mean: Float32Array, matrix: Float32Array, out: number): Float32Array {
  const result = new Float32Array(n * out);
  tf.tidy(() => {
    const m = tf.tensor2d(matrix, [dim, out]);
    const mu = tf.tensor1d(mean);
    for (let s = 0; s < n; s += 8192) {
      const rows = Math.min(8192, n - s);
      tf.tidy(() =>
        result.set(tf.matMul(tf.sub(tf.tensor2d(data.subarray(s * dim, (s + rows) * dim), [rows, dim]), mu), m).dataSync(), s * out),
      );
    }
  });
  return result;
}

/** Squared L2 distances between all pairs of `n` vectors (row-major n × n), by one matrix product. */
export function pairwiseSquaredDistances(data: Float32Array, n: number, dim: number): Float32Array {
  return tf.tidy(() => {
    const x = tf.tensor2d(data, [n, dim]);
    const norms = tf.sum(tf.square(x), 1);
    const d = tf.add(tf.sub(norms.reshape([n, 1]), tf.mul(2, tf.matMul(x, x, false, true))), norms);
    return tf.relu(d).dataSync() as Float32Array;
  });
}
