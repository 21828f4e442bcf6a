/**
 * The assignment step of k-means as one matrix product on the TensorFlow.js engine (XNNPACK on
 * wasm): for every point its nearest centroid and the squared distance to it, from
 * ‖x‖² − 2·x·c + ‖c‖². Points are uploaded once and reused across iterations.
 */
import { tf } from './tf';

/** Rows per matrix product: bounds the temporary n × k distance block. */
const CHUNK = 65536;

export class PointSet {
  private readonly points: tf.Tensor2D;
  private readonly norms: Float32Array;

  constructor(
    readonly data: Float32Array,
    readonly n: number,
    readonly dim: number,
  ) {
    this.points = tf.tensor2d(data, [n, dim]);
    this.norms = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < dim; j++) s += data[i * dim + j]! ** 2;
      this.norms[i] = s;
    }
  }

  /** Nearest of `k` centroids (row-major k×dim) for every point, with squared distances. */
  assign(centroids: Float32Array, k: number, chunk = CHUNK): { assignments: Int32Array; distances: Float32Array } {
    const assignments = new Int32Array(this.n);
    const distances = new Float32Array(this.n);
    tf.tidy(() => {
      const c = tf.tensor2d(centroids, [k, this.dim]);
      const cNorm = tf.sum(tf.square(c), 1);
      for (let s = 0; s < this.n; s += chunk) {
        const rows = Math.min(chunk, this.n - s);
        tf.tidy(() => {
          const x = rows === this.n ? this.points : tf.slice(this.points, [s, 0], [rows, this.dim]);
          const d = tf.sub(cNorm, tf.mul(2, tf.matMul(x, c, false, true)));
          assignments.set(tf.argMin(d, 1).dataSync() as Int32Array, s);
          const min = tf.min(d, 1).dataSync() as Float32Array;
          for (let i = 0; i < rows; i++) distances[s + i] = Math.max(0, min[i]! + this.norms[s + i]!);
        });
      }
    });
    return { assignments, distances };
  }

  /** Squared distances from every point to each of `m` centres (row-major n × m). */
  distancesTo(centres: Float32Array, m: number): Float32Array {
    // ‖c‖² − 2·x·c on the engine (a row broadcast, which wasm does fast); ‖x‖² added here, since a
    // column broadcast is a slow generic loop on wasm.
    const partial = new Float32Array(this.n * m);
    tf.tidy(() => {
      const c = tf.tensor2d(centres, [m, this.dim]);
      const cNorm = tf.sum(tf.square(c), 1);
      for (let s = 0; s < this.n; s += CHUNK) {
        const rows = Math.min(CHUNK, this.n - s);
        tf.tidy(() => {
          const x = rows === this.n ? this.points : tf.slice(this.points, [s, 0], [rows, this.dim]);
          partial.set(tf.sub(cNorm, tf.mul(2, tf.matMul(x, c, false, true))).dataSync() as Float32Array, s * m);
        });
      }
    });
    const out = new Float32Array(this.n * m);
    const norms = this.norms;
    for (let i = 0, at = 0; i < norms.length; i++) {
      const norm = norms[i]!;
      for (let j = 0; j < m; j++, at++) {
        const v = partial[at]! + norm;
        out[at] = v > 0 ? v : 0;
      }
    }
    return out;
  }

  dispose(): void {
    this.points.dispose();
  }
}
