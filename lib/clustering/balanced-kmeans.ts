/**
 * k-means under a prior of equal cluster sizes. Plain k-means on an embedding of a balanced
 * collection tends to split one wide cluster in two while merging two dense neighbours (on a UMAP
 * of Fashion-MNIST codes: bags in two, sandals shared between sneakers and boots); with equal
 * masses it cannot. Each iteration assigns the points by the entropic optimal transport plan onto k
 * centres of equal mass (Sinkhorn–Knopp, Cuturi 2013, as SeLa and SwAV balance their
 * self-labels) and moves each centre to its plan-weighted mean. Starts from seeded k-means; plain
 * numbers, meant for low-dimensional embeddings of up to some 10⁵ points.
 */
import { kmeans } from './kmeans';

export interface BalancedKMeansOptions {
  k: number;
  /** Seed of the k-means start. Default 0. */
  seed?: number;
  /** Restarts of the k-means start. Default 3. */
  restarts?: number;
  /** Centre updates. Default 30. */
  iterations?: number;
  /** Sinkhorn scalings per update. Default 50. */
  sinkhornIterations?: number;
  /**
   * Entropic regularisation, as a fraction of the mean squared point–centre distance: smaller makes
   * assignments harder and sizes more exactly equal, larger lets sizes vary (on a UMAP of Fashion-MNIST codes, 0.05 let one
   * cluster empty out). Default 0.01.
   */
  temperature?: number;
}

export interface BalancedKMeansResult {
  /** The most probable centre of each point under the plan. */
  assignments: Int32Array;
  /** Row-major k × dim. */
  centroids: Float32Array;
  /** Transport plan, rows normalised: [n × k], each row the point's share in each cluster. */
  plan: Float32Array;
}

/** Balanced k-means of n points of `dim` values (row-major); the same seed gives the same result. */
export function balancedKmeans(data: Float32Array, n: number, dim: number, options: BalancedKMeansOptions): BalancedKMeansResult {
  const { k } = options;
  const temperature = options.temperature ?? 0.01;
  const centres = Float64Array.from(
    kmeans(data, n, dim, { k, seed: options.seed ?? 0, ...(options.restarts ? { restarts: options.restarts } : {}) }).centroids,
  );
  const plan = new Float64Array(n * k);
  const mass = new Float64Array(k);
  for (let iteration = 0; iteration < (options.iterations ?? 30); iteration++) {
    let mean = 0;
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < k; c++) {
        let s = 0;
        for (let j = 0; j < dim; j++) s += (data[i * dim + j]! - centres[c * dim + j]!) ** 2;
        plan[i * k + c] = s;
        mean += s / (n * k);
      }
    }
    const scale = Math.max(temperature * mean, 1e-12);
    for (let i = 0; i < n; i++) {
      let nearest = Infinity;
      for (let c = 0; c < k; c++) nearest = Math.min(nearest, plan[i * k + c]!);
      for (let c = 0; c < k; c++) plan[i * k + c] = Math.exp(-(plan[i * k + c]! - nearest) / scale);
    }
    // Alternate: every cluster receives n/k of the mass, every point gives all of its own.
    for (let s = 0; s < (options.sinkhornIterations ?? 50); s++) {
      mass.fill(0);
      for (let i = 0; i < n; i++) for (let c = 0; c < k; c++) mass[c]! += plan[i * k + c]!;
      for (let c = 0; c < k; c++) mass[c] = n / k / Math.max(mass[c]!, 1e-300);
      for (let i = 0; i < n; i++) {
        let row = 0;
        for (let c = 0; c < k; c++) row += plan[i * k + c]! *= mass[c]!;
        for (let c = 0; c < k; c++) plan[i * k + c]! /= row;
      }
    }
    centres.fill(0);
    mass.fill(0);
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < k; c++) {
        const w = plan[i * k + c]!;
        mass[c]! += w;
        for (let j = 0; j < dim; j++) centres[c * dim + j]! += w * data[i * dim + j]!;
      }
    }
    for (let c = 0; c < k; c++) for (let j = 0; j < dim; j++) centres[c * dim + j]! /= Math.max(mass[c]!, 1e-300);
  }
  const assignments = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (plan[i * k + c]! > plan[i * k + best]!) best = c;
    assignments[i] = best;
  }
  return { assignments, centroids: Float32Array.from(centres), plan: Float32Array.from(plan) };
}
