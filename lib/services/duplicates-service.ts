/**
 * Near-duplicates: groups of images whose latent vectors lie within a threshold of each other,
 * found through the index (each image asks for its nearest neighbours, never all pairs) and
 * joined transitively (union–find). Exact duplicates are already one image (content hash).
 */
import { AppError } from '../errors';
import type { Library } from './library';
import { loadActiveVectors, modelIndex } from './model-service';

export interface DuplicateOptions {
  /** Largest squared L2 latent distance counted as a near-duplicate; default: 5 % of the median nearest-neighbour distance. */
  threshold?: number;
  /** Neighbours examined per image. Default 10. */
  neighbors?: number;
}

export interface DuplicateGroups {
  threshold: number;
  groups: { ids: number[]; maxDistance: number }[];
}

/** Position of `id` in the ascending `ids`, or -1. */
function positionOf(ids: readonly number[], id: number): number {
  let lo = 0;
  let hi = ids.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (ids[mid]! === id) return mid;
    if (ids[mid]! < id) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/**
 * Near-duplicate groups over the whole library. Neighbours are kept in typed arrays (n × k), the
 * union–find runs over positions: a million images cost a few hundred MB, not an object per pair.
 */
export function findNearDuplicates(library: Library, options: DuplicateOptions = {}): DuplicateGroups {
  const { model, ids, data, dim } = loadActiveVectors(library);
  const neighbors = options.neighbors ?? 10;
  if (!Number.isInteger(neighbors) || neighbors < 1 || neighbors > 100)
    throw new AppError('invalid_input', `neighbors must be an integer from 1 to 100; got ${neighbors}`);
  if (options.threshold !== undefined && !(options.threshold >= 0 && Number.isFinite(options.threshold))) {
    throw new AppError('invalid_input', `threshold must be a finite number ≥ 0; got ${options.threshold}`);
  }
  const { index } = modelIndex(library, model);
  const n = ids.length;
  const hitIds = new Int32Array(n * neighbors).fill(-1);
  const hitDistances = new Float32Array(n * neighbors).fill(Infinity);
  // Near-duplicates are the very nearest neighbours: a short candidate list finds them.
  const ef = Math.max(2 * (neighbors + 1), 16);
  for (let i = 0; i < n; i++) {
    const hits = index.search(data.subarray(i * dim, (i + 1) * dim), neighbors + 1, { ef });
    let j = 0;
    for (const h of hits) {
      if (h.id === ids[i] || j === neighbors) continue;
      hitIds[i * neighbors + j] = h.id;
      hitDistances[i * neighbors + j] = h.distance;
      j++;
    }
  }
  let threshold = options.threshold;
  if (threshold === undefined) {
    const nearest = Float32Array.from({ length: n }, (_, i) => hitDistances[i * neighbors]!)
      .filter(Number.isFinite)
      .sort();
    threshold = nearest.length ? 0.05 * nearest[Math.floor(nearest.length / 2)]! : 0;
  }
  const parent = Int32Array.from({ length: n }, (_, i) => i);
  const find = (x: number): number => {
    while (parent[x] !== x) {
      parent[x] = parent[parent[x]!]!;
      x = parent[x]!;
    }
    return x;
  };
  const maxDistance = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < neighbors; j++) {
      const d = hitDistances[i * neighbors + j]!;
      if (d > threshold) break;
      const other = positionOf(ids, hitIds[i * neighbors + j]!);
      if (other < 0) continue;
      const a = find(i);
      const b = find(other);
      const joined = Math.max(d, maxDistance[a]!, maxDistance[b]!);
      if (a !== b) parent[a] = b;
      maxDistance[find(i)] = joined;
    }
  }
  const groups = new Map<number, number[]>();
  const size = new Int32Array(n);
  for (let i = 0; i < n; i++) size[find(i)]!++;
  for (let i = 0; i < n; i++) {
    const root = find(i);
    if (size[root]! > 1) (groups.get(root) ?? groups.set(root, []).get(root)!).push(ids[i]!);
  }
  return {
    threshold,
    groups: [...groups.entries()]
      .map(([root, g]) => ({ ids: g, maxDistance: maxDistance[root]! }))
      .sort((a, b) => b.ids.length - a.ids.length),
  };
}
