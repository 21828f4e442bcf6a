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

export function findNearDuplicates(library: Library, options: DuplicateOptions = {}): DuplicateGroups {
  const { model, ids, data, dim } = loadActiveVectors(library);
  const neighbors = options.neighbors ?? 10;
  if (!Number.isInteger(neighbors) || neighbors < 1 || neighbors > 100)
    throw new AppError('invalid_input', `neighbors must be an integer from 1 to 100; got ${neighbors}`);
  if (options.threshold !== undefined && !(options.threshold >= 0 && Number.isFinite(options.threshold))) {
    throw new AppError('invalid_input', `threshold must be a finite number ≥ 0; got ${options.threshold}`);
  }
  const { index } = modelIndex(library, model);
  const hits = ids.map((id, i) => index.search(data.subarray(i * dim, (i + 1) * dim), neighbors + 1).filter((h) => h.id !== id));
  let threshold = options.threshold;
  if (threshold === undefined) {
    const nearest = hits
      .map((h) => h[0]?.distance ?? Infinity)
      .filter(Number.isFinite)
      .sort((a, b) => a - b);
    threshold = nearest.length ? 0.05 * nearest[Math.floor(nearest.length / 2)]! : 0;
  }
  const parent = new Map<number, number>(ids.map((id) => [id, id]));
  const find = (x: number): number => {
    while (parent.get(x) !== x) {
      parent.set(x, parent.get(parent.get(x)!)!);
      x = parent.get(x)!;
    }
    return x;
  };
  const maxDistance = new Map<number, number>();
  ids.forEach((id, i) => {
    for (const h of hits[i]!) {
      if (h.distance > threshold!) break;
      const a = find(id);
      const b = find(h.id);
      const d = Math.max(h.distance, maxDistance.get(a) ?? 0, maxDistance.get(b) ?? 0);
      if (a !== b) parent.set(a, b);
      maxDistance.set(find(id), d);
    }
  });
  const groups = new Map<number, number[]>();
  for (const id of ids) {
    const root = find(id);
    groups.set(root, [...(groups.get(root) ?? []), id]);
  }
  return {
    threshold,
    groups: [...groups.entries()]
      .filter(([, g]) => g.length > 1)
      .map(([root, g]) => ({ ids: g.sort((a, b) => a - b), maxDistance: maxDistance.get(root) ?? 0 }))
      .sort((a, b) => b.ids.length - a.ids.length),
  };
}
