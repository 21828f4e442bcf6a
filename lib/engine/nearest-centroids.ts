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

  /**
   * ‖c‖² − 2·x·c for every point and each of `m` centres, chunk by chunk of rows (one matrix
   * product each; ‖x‖² is left to the caller: a column broadcast is a slow generic loop on wasm).
   * `consume` gets each chunk's [rows × m] tensor and its first row; tensors are freed after it.
   */
  private forEachChunk(centres: Float32Array, m: number, consume: (scores: tf.Tensor2D, start: number, rows: number) => void): void {
    tf.tidy(() => {
      const c = tf.tensor2d(centres, [m, this.dim]);
      const cNorm = tf.sum(tf.square(c), 1);
      for (let s = 0; s < this.n; s += CHUNK) {
        const rows = Math.min(CHUNK, this.n - s);
        tf.tidy(() => {
          const x = rows === this.n ? this.points : tf.slice(this.points, [s, 0], [rows, this.dim]);
          consume(tf.sub(cNorm, tf.mul(2, tf.matMul(x, c, false, true))) as tf.Tensor2D, s, rows);
        });
      }
    });
  }

  /** Nearest of `k` centroids (row-major k×dim) for every point, with squared distances. */
  assign(centroids: Float32Array, k: number): { assignments: Int32Array; distances: Float32Array } {
    const assignments = new Int32Array(this.n);
    const distances = new Float32Array(this.n);
    this.forEachChunk(centroids, k, (scores, start, rows) => {
      assignments.set(tf.argMin(scores, 1).dataSync() as Int32Array, start);
      const min = tf.min(scores, 1).dataSync() as Float32Array;
      for (let i = 0; i < rows; i++) distances[start + i] = Math.max(0, min[i]! + this.norms[start + i]!);
    });
    return { assignments, distances };
  }

  /** Squared distances from every point to each of `m` centres (row-major n × m). */
  distancesTo(centres: Float32Array, m: number): Float32Array {
    const out = new Float32Array(this.n * m);
    this.forEachChunk(centres, m, (scores, start) => out.set(scores.dataSync() as Float32Array, start * m));
    const norms = this.norms;
    for (let i = 0, at = 0; i < norms.length; i++) {
      const norm = norms[i]!;
      for (let j = 0; j < m; j++, at++) {
        const v = out[at]! + norm;
        out[at] = v > 0 ? v : 0;
      }
    }
    return out;
  }

  dispose(): void {
    this.points.dispose();
  }
}
