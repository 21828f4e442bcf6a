/**
 * k-means for libraries of up to millions of vectors: seeded k-means++ initialisation (ml-kmeans
 * for small sets; a greedy k-means++ with engine distances for large ones), Lloyd iterations whose assignment step is one matrix product on the
 * engine (`PointSet`), several restarts keeping the lowest inertia, empty clusters re-seeded
 * with the worst-fitted points. Typed arrays throughout.
 */
import { kmeans as mlKmeans } from 'ml-kmeans';
import { AppError } from '../errors';
import { PointSet } from '../engine/nearest-centroids';
import { seededRandom } from '../random';

export interface KMeansOptions {
  k: number;
  /** Seed of the initialisation; same seed, same result. Default 0. */
  seed?: number;
  /** Cap on Lloyd iterations per restart. Default 100. */
  maxIterations?: number;
  /** Restarts from different seeds; the lowest inertia wins. Default 3. */
  restarts?: number;
  /** Stop when no centroid moves more than this fraction of the data's spread. Default 1e-4. */
  tolerance?: number;
}

export interface KMeansResult {
  k: number;
  dim: number;
  /** Row-major k × dim. */
  centroids: Float32Array;
  assignments: Int32Array;
  /** Squared distance of each point to its centroid. */
  distances: Float32Array;
  sizes: Int32Array;
  inertia: number;
  iterations: number;
}

/** Refuses k ≤ 0, k > n, non-integer k and vectors with NaN or Infinity. */
export function checkKMeansInput(data: Float32Array, n: number, dim: number, k: number): void {
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(dim) || dim < 1 || data.length !== n * dim) {
    throw new AppError('invalid_input', `expected ${n} vectors of ${dim} values (${n * dim}), got ${data.length} values`);
  }
  if (!Number.isInteger(k) || k < 1) throw new AppError('invalid_input', `k must be a positive integer; got ${k}`);
  if (k > n) throw new AppError('invalid_input', `k = ${k} is larger than the number of vectors (${n})`);
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) throw new AppError('invalid_input', `vector ${Math.floor(i / dim)} has a non-finite value`);
  }
}

/** Up to this many vectors, ml-kmeans's own k-means++ runs on all of them. */
const SMALL = 5000;

/**
 * Greedy k-means++ (as scikit-learn: 2 + ln k candidates per centre, keep the one that lowers the
 * potential most), with the candidates' distances computed on the engine.
 */
function kmeansPlusPlus(points: PointSet, k: number, seed: number): Float32Array {
  const { data, n, dim } = points;
  const random = seededRandom(seed);
  const centres = new Float32Array(k * dim);
  const first = Math.floor(random() * n);
  centres.set(data.subarray(first * dim, (first + 1) * dim));
  let closest = points.distancesTo(centres.subarray(0, dim), 1);
  const trials = 2 + Math.floor(Math.log(k));
  const cumulative = new Float64Array(n);
  for (let c = 1; c < k; c++) {
    let total = 0;
    for (let i = 0; i < n; i++) cumulative[i] = total += closest[i]!;
    const candidates = new Float32Array(trials * dim);
    for (let t = 0; t < trials; t++) {
      const target = random() * total;
      let lo = 0;
      let hi = n - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (cumulative[mid]! < target) lo = mid + 1;
        else hi = mid;
      }
      candidates.set(data.subarray(lo * dim, (lo + 1) * dim), t * dim);
    }
    const d = points.distancesTo(candidates, trials);
    let best = 0;
    let bestPotential = Infinity;
    for (let t = 0; t < trials; t++) {
      let potential = 0;
      for (let i = 0; i < n; i++) potential += Math.min(closest[i]!, d[i * trials + t]!);
      if (potential < bestPotential) {
        bestPotential = potential;
        best = t;
      }
    }
    centres.set(candidates.subarray(best * dim, (best + 1) * dim), c * dim);
    const next = new Float32Array(n);
    for (let i = 0; i < n; i++) next[i] = Math.min(closest[i]!, d[i * trials + best]!);
    closest = next;
  }
  return centres;
}

/** Large sets seed k-means++ from a random sample of this many points (a few Lloyd steps fix the rest). */
const INIT_SAMPLE = 20_000;

function initialCentroids(points: PointSet, k: number, seed: number): Float32Array {
  const { data, n, dim } = points;
  if (n > INIT_SAMPLE) {
    const random = seededRandom(seed ^ 0x5bd1e995);
    const picked = new Set<number>();
    while (picked.size < INIT_SAMPLE) picked.add(Math.floor(random() * n));
    const sample = new Float32Array(INIT_SAMPLE * dim);
    [...picked].forEach((i, j) => sample.set(data.subarray(i * dim, (i + 1) * dim), j * dim));
    const sampled = new PointSet(sample, INIT_SAMPLE, dim);
    try {
      return kmeansPlusPlus(sampled, k, seed);
    } finally {
      sampled.dispose();
    }
  }
  if (n > SMALL) return kmeansPlusPlus(points, k, seed);
  const rows = Array.from({ length: n }, (_, i) => Array.from(data.subarray(i * dim, (i + 1) * dim)));
  const { centroids } = mlKmeans(rows, k, { initialization: 'kmeans++', seed, maxIterations: 1 });
  return Float32Array.from(centroids.flat());
}

function lloyd(points: PointSet, initial: Float32Array, k: number, maxIterations: number, tolerance: number): KMeansResult {
  const { data, n, dim } = points;
  let centroids = initial;
  let assigned = points.assign(centroids, k);
  let iterations = 0;
  let spread = 0;
  for (let i = 0; i < data.length; i++) spread += data[i]! * data[i]!;
  spread /= n;
  for (; iterations < maxIterations; iterations++) {
    const sums = new Float64Array(k * dim);
    const sizes = new Int32Array(k);
    for (let i = 0; i < n; i++) {
      const c = assigned.assignments[i]!;
      sizes[c]!++;
      const row = i * dim;
      const at = c * dim;
      for (let j = 0; j < dim; j++) sums[at + j]! += data[row + j]!;
    }
    const next = new Float32Array(k * dim);
    const distances = assigned.distances;
    const worst = sizes.includes(0) ? [...distances.keys()].sort((a, b) => distances[b]! - distances[a]!) : [];
    let reseed = 0;
    for (let c = 0; c < k; c++) {
      if (sizes[c] === 0) {
        // An empty cluster takes the point that fits its own cluster worst.
        next.set(data.subarray(worst[reseed]! * dim, (worst[reseed]! + 1) * dim), c * dim);
        reseed++;
      } else {
        for (let j = 0; j < dim; j++) next[c * dim + j] = sums[c * dim + j]! / sizes[c]!;
      }
    }
    let shift = 0;
    for (let i = 0; i < next.length; i++) shift += (next[i]! - centroids[i]!) ** 2;
    centroids = next;
    assigned = points.assign(centroids, k);
    if (shift <= tolerance * spread * k) {
      iterations++;
      break;
    }
  }
  const sizes = new Int32Array(k);
  let inertia = 0;
  for (let i = 0; i < n; i++) {
    sizes[assigned.assignments[i]!]!++;
    inertia += assigned.distances[i]!;
  }
  return { k, dim, centroids, assignments: assigned.assignments, distances: assigned.distances, sizes, inertia, iterations };
}

/**
 * Clusters `n` vectors of `dim` values (row-major `data`) into `k` groups.
 * @example kmeans(vectors, 70000, 64, { k: 10, seed: 1 }).assignments
 */
export function kmeans(data: Float32Array, n: number, dim: number, options: KMeansOptions): KMeansResult {
  const { k, seed = 0, maxIterations = 100, restarts = 3, tolerance = 1e-4 } = options;
  checkKMeansInput(data, n, dim, k);
  if (!Number.isInteger(restarts) || restarts < 1)
    throw new AppError('invalid_input', `restarts must be a positive integer; got ${restarts}`);
  if (!Number.isInteger(maxIterations) || maxIterations < 1)
    throw new AppError('invalid_input', `maxIterations must be a positive integer; got ${maxIterations}`);
  const points = new PointSet(data, n, dim);
  try {
    let best: KMeansResult | null = null;
    for (let r = 0; r < restarts; r++) {
      const result = lloyd(points, initialCentroids(points, k, seed + r * 7919), k, maxIterations, tolerance);
      if (!best || result.inertia < best.inertia) best = result;
    }
    return best!;
  } finally {
    points.dispose();
  }
}

export interface SampledKMeansOptions extends KMeansOptions {
  /**
   * Above this many vectors, k-means is fitted on a seeded random sample of this size and every
   * vector is then assigned to the nearest fitted centroid in one pass. Default 100,000: at k = 50
   * the centroids hardly move beyond it, and the fit stops growing with the library.
   */
  sample?: number;
}

/** Rows per assignment pass over the whole set: bounds the engine's copy of the points. */
const ASSIGN_CHUNK = 131_072;

/**
 * k-means for any library size: plain `kmeans` up to `sample` vectors; beyond, `kmeans` on a
 * sample and one chunked assignment pass over all vectors (sizes, distances and inertia are those
 * of the whole set; `iterations` those of the fit).
 */
export function sampledKMeans(data: Float32Array, n: number, dim: number, options: SampledKMeansOptions): KMeansResult {
  const { sample = 100_000, ...fit } = options;
  if (!Number.isInteger(sample) || sample < 1) throw new AppError('invalid_input', `sample must be a positive integer; got ${sample}`);
  if (n <= sample) return kmeans(data, n, dim, fit);
  checkKMeansInput(data, n, dim, options.k);
  const random = seededRandom((options.seed ?? 0) ^ 0x2545f491);
  const picked = new Set<number>();
  while (picked.size < sample) picked.add(Math.floor(random() * n));
  const rows = new Float32Array(sample * dim);
  [...picked].forEach((i, j) => rows.set(data.subarray(i * dim, (i + 1) * dim), j * dim));
  const fitted = kmeans(rows, sample, dim, fit);
  const assignments = new Int32Array(n);
  const distances = new Float32Array(n);
  for (let s = 0; s < n; s += ASSIGN_CHUNK) {
    const count = Math.min(ASSIGN_CHUNK, n - s);
    const points = new PointSet(data.subarray(s * dim, (s + count) * dim), count, dim);
    try {
      const part = points.assign(fitted.centroids, fitted.k);
      assignments.set(part.assignments, s);
      distances.set(part.distances, s);
    } finally {
      points.dispose();
    }
  }
  const sizes = new Int32Array(fitted.k);
  let inertia = 0;
  for (let i = 0; i < n; i++) {
    sizes[assignments[i]!]!++;
    inertia += distances[i]!;
  }
  return { ...fitted, assignments, distances, sizes, inertia };
}
