/**
 * Pure vector math shared by the index, exact search and clustering: distances in the two spaces
 * the index supports, and validation of query vectors before anything native sees them.
 */
import { AppError } from '../errors';

export const DISTANCE_SPACES = Object.freeze(['cosine', 'l2'] as const);
export type DistanceSpace = (typeof DISTANCE_SPACES)[number];

/** hnswlib's conventions: cosine → 1 − cos(a, b); l2 → squared Euclidean distance. */
export function distance(space: DistanceSpace, a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  let sq = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (space === 'l2') {
      const d = x - y;
      sq += d * d;
    } else {
      dot += x * y;
      na += x * x;
      nb += y * y;
    }
  }
  if (space === 'l2') return sq;
  const norm = Math.sqrt(na) * Math.sqrt(nb);
  return norm === 0 ? 1 : 1 - dot / norm;
}

/** Refuses vectors of the wrong length or with NaN/Infinity, naming the problem. */
export function checkVector(vector: ArrayLike<number>, dim: number, what = 'query vector'): void {
  if (vector.length !== dim) throw new AppError('invalid_input', `${what} has ${vector.length} values; expected ${dim}`);
  for (let i = 0; i < vector.length; i++) {
    if (!Number.isFinite(vector[i])) throw new AppError('invalid_input', `${what} has a non-finite value at position ${i}`);
  }
}

/** Refuses k that is not a positive integer (k larger than the library is fine: fewer results). */
export function checkK(k: number, max = 10_000): void {
  if (!Number.isInteger(k) || k < 1 || k > max) throw new AppError('invalid_input', `k must be an integer from 1 to ${max}; got ${k}`);
}

export interface Neighbor {
  id: number;
  distance: number;
}

/** Exact k nearest neighbours by brute force, for recall checks and small libraries. */
export function exactSearch(
  space: DistanceSpace,
  entries: Iterable<{ id: number; vector: ArrayLike<number> }>,
  query: ArrayLike<number>,
  k: number,
): Neighbor[] {
  checkK(k);
  const best: Neighbor[] = [];
  for (const { id, vector } of entries) {
    const d = distance(space, query, vector);
    if (best.length < k || d < best[best.length - 1]!.distance) {
      let at = best.length;
      while (at > 0 && best[at - 1]!.distance > d) at--;
      best.splice(at, 0, { id, distance: d });
      if (best.length > k) best.pop();
    }
  }
  return best;
}
