/**
 * A map of a million points from a map of a sample: UMAP (minutes per 70,000 points in umap-js)
 * runs on a seeded sample, and every other point is placed among its nearest sampled neighbours —
 * at their inverse-distance-weighted mean, the way UMAP's own `transform` starts a new point.
 * Pure: the neighbours come from the caller (the index), the positions from the sample's map.
 */
import { AppError } from '../errors';
import { seededRandom } from '../random';

/** `size` distinct indices in 0..n-1, drawn with `seed`, in increasing order. */
export function sampleIndices(n: number, size: number, seed: number): Int32Array {
  if (!Number.isInteger(size) || size < 1 || size > n) throw new AppError('invalid_input', `a sample of ${size} from ${n} is not possible`);
  if (size === n) return Int32Array.from({ length: n }, (_, i) => i);
  const random = seededRandom(seed);
  const picked = new Set<number>();
  while (picked.size < size) picked.add(Math.floor(random() * n));
  return Int32Array.from(picked).sort();
}

/**
 * Writes the 2-D position of a point into `out` at `at` (x, y at 2·at, 2·at+1) from its nearest
 * sampled neighbours: row `neighbors[j]` of `sampleXy` at (Euclidean) distance `distances[j]`,
 * weighted by 1 / (distance + ε) — a point on top of a neighbour lands on it.
 */
export function placeByNeighbors(
  sampleXy: Float32Array,
  neighbors: ArrayLike<number>,
  distances: ArrayLike<number>,
  out: Float32Array,
  at: number,
): void {
  if (neighbors.length === 0 || neighbors.length !== distances.length)
    throw new AppError('invalid_input', 'a point is placed from at least one neighbour, with one distance each');
  let x = 0;
  let y = 0;
  let total = 0;
  for (let j = 0; j < neighbors.length; j++) {
    const w = 1 / (distances[j]! + 1e-6);
    const row = neighbors[j]!;
    x += w * sampleXy[2 * row]!;
    y += w * sampleXy[2 * row + 1]!;
    total += w;
  }
  out[2 * at] = x / total;
  out[2 * at + 1] = y / total;
}
