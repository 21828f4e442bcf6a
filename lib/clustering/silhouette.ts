/**
 * Silhouette score (Euclidean, as scikit-learn): for each point, (b − a) / max(a, b) with a its
 * mean distance to its own cluster and b the smallest mean distance to another cluster; the
 * mean over points. From a precomputed squared-distance matrix of a sample.
 */
import { AppError } from '../errors';

export function silhouetteScore(squaredDistances: Float32Array, assignments: ArrayLike<number>, k: number): number {
  const n = assignments.length;
  if (squaredDistances.length !== n * n)
    throw new AppError('invalid_input', `distance matrix of ${squaredDistances.length} values for ${n} points`);
  if (k < 2) throw new AppError('invalid_input', 'the silhouette needs at least 2 clusters');
  const sizes = new Int32Array(k);
  for (let i = 0; i < n; i++) sizes[assignments[i]!]!++;
  let total = 0;
  const sums = new Float64Array(k);
  for (let i = 0; i < n; i++) {
    sums.fill(0);
    for (let j = 0; j < n; j++) if (j !== i) sums[assignments[j]!]! += Math.sqrt(squaredDistances[i * n + j]!);
    const own = assignments[i]!;
    if (sizes[own]! <= 1) continue; // a singleton scores 0
    const a = sums[own]! / (sizes[own]! - 1);
    let b = Infinity;
    for (let c = 0; c < k; c++) if (c !== own && sizes[c]! > 0) b = Math.min(b, sums[c]! / sizes[c]!);
    total += b === Infinity ? 0 : (b - a) / Math.max(a, b);
  }
  return total / n;
}
