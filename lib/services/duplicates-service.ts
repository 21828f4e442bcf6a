/**
 * Near-duplicates: groups of images whose latent vectors lie within a threshold of each other,
 * found through the index (each image asks for its nearest neighbours, never all pairs) and
 * joined transitively (union–find). Exact duplicates are already one image (content hash).
 */
import { AppError } from '../errors';
import { getImages, type ImageRecord } from '../store/images-repo';
import type { Job } from '../store/jobs-repo';
import type { Library } from './library';
import type { VectorIndex } from '../vector-index/vector-index';
import { loadActiveVectors, modelIndex } from './model-service';

/**
 * Default `fraction`: near-duplicates lie within 5 % of the typical distance between unrelated
 * images. Measured (npm run bench:duplicates, docs/experiments.md; 187 shared photos + 40 resized
 * or recompressed copies, photo-cae after 3 epochs): copies sit at a median 0.24 % of it from their
 * originals; the closest distinct photos at ≥ 8.3 %. At 5 %: 36 of 40 copies found, no group joins
 * two different photos; at 10 %: 38, but one false group. The former default (5 % of the median
 * nearest-neighbour distance, here 1.1 %) shrank as the library held more copies — the very thing
 * it looks for — and found 28.
 */
export const DEFAULT_DUPLICATE_FRACTION = 0.05;

export interface DuplicateOptions {
  /** Largest squared L2 latent distance counted as a near-duplicate; overrides `fraction`. */
  threshold?: number;
  /**
   * The threshold as a share of `reference`, the typical distance between unrelated images (the
   * median distance from an image to its `rank`-th neighbour). Default DEFAULT_DUPLICATE_FRACTION:
   * higher finds more distant copies (crops, edits) and, past ~5 %, groups merely similar images.
   */
  fraction?: number;
  /** Neighbours examined per image (and the rank of `reference`). Default 10. */
  neighbors?: number;
}

export interface DuplicateGroups {
  /** Largest squared L2 latent distance counted as a near-duplicate. */
  threshold: number;
  /** The typical distance between unrelated images: the median distance to the `rank`-th neighbour. */
  reference: number;
  /**
   * The neighbour `reference` is measured at: `neighbors` (10), or a quarter of the library when
   * that is smaller — in a dozen images the 10th neighbour is nearly the farthest, and the scale
   * would swell with every deletion.
   */
  rank: number;
  /** threshold / reference. */
  fraction: number;
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

/** Each image's nearest other images: rows of `neighbors` ids and squared L2 distances, -1 / Infinity past the last found. */
export interface NeighborLists {
  neighbors: number;
  ids: Int32Array;
  distances: Float32Array;
}

/** Neighbours examined per image when `options.neighbors` is not given; checks every option (AppError('invalid_input')). */
export function checkDuplicateOptions(options: DuplicateOptions): number {
  const neighbors = options.neighbors ?? 10;
  if (!Number.isInteger(neighbors) || neighbors < 1 || neighbors > 100)
    throw new AppError('invalid_input', `neighbors must be an integer from 1 to 100; got ${neighbors}`);
  if (options.threshold !== undefined && !(options.threshold >= 0 && Number.isFinite(options.threshold))) {
    throw new AppError('invalid_input', `threshold must be a finite number ≥ 0; got ${options.threshold}`);
  }
  if (options.fraction !== undefined && !(options.fraction >= 0 && options.fraction <= 1))
    throw new AppError('invalid_input', `fraction must be a number from 0 to 1; got ${options.fraction}`);
  return neighbors;
}

/**
 * The search step of the near-duplicate finder: each of `ids` (its vector a row of `data`) asks
 * `index` for its `neighbors` nearest others. The same function runs here and on remote workers
 * (over a snapshot of the same index, a block of rows each), so both answer alike.
 */
export function nearestNeighbors(
  index: VectorIndex,
  ids: ArrayLike<number>,
  data: Float32Array,
  dim: number,
  neighbors: number,
): NeighborLists {
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
  return { neighbors, ids: hitIds, distances: hitDistances };
}

/** Images searched between two looks at progress and cancellation (a few hundred ms here). */
const SEARCH_BLOCK = 5000;

/**
 * Near-duplicate groups over the whole library. Neighbours are kept in typed arrays (n × k), the
 * union–find runs over positions: a million images cost a few hundred MB, not an object per pair.
 * The search runs in blocks, yielding between them: progress is reported and a cancel is heard
 * (AppError('cancelled')) within a block.
 */
export async function findNearDuplicates(
  library: Library,
  options: DuplicateOptions = {},
  steps: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {},
): Promise<DuplicateGroups> {
  const neighbors = checkDuplicateOptions(options);
  const { model, ids, data, dim } = loadActiveVectors(library);
  const { index } = modelIndex(library, model);
  const lists: NeighborLists = {
    neighbors,
    ids: new Int32Array(ids.length * neighbors),
    distances: new Float32Array(ids.length * neighbors),
  };
  for (let start = 0; start < ids.length; start += SEARCH_BLOCK) {
    if (steps.signal?.aborted) throw new AppError('cancelled', 'the near-duplicate search was cancelled');
    const end = Math.min(ids.length, start + SEARCH_BLOCK);
    const block = nearestNeighbors(index, ids.slice(start, end), data.subarray(start * dim, end * dim), dim, neighbors);
    lists.ids.set(block.ids, start * neighbors);
    lists.distances.set(block.distances, start * neighbors);
    steps.onProgress?.(end, ids.length);
    if (end < ids.length) await new Promise((resolve) => setImmediate(resolve));
  }
  return groupNearDuplicates(ids, lists, options);
}

/**
 * The groups from every image's neighbour lists (`lists` row i belongs to `ids[i]`, ids ascending):
 * the threshold from the typical distance (unless given), then union–find over the pairs within it.
 */
export function groupNearDuplicates(ids: readonly number[], lists: NeighborLists, options: DuplicateOptions = {}): DuplicateGroups {
  const { neighbors, ids: hitIds, distances: hitDistances } = lists;
  const n = ids.length;
  // The median distance to the rank-th neighbour: a scale of "unrelated" that copies in the
  // library do not shrink (each image has at most a few copies among its nearest).
  const rank = Math.min(neighbors, Math.max(1, Math.floor(n / 4)));
  const farthest = Float32Array.from({ length: n }, (_, i) => {
    let last = Infinity;
    for (let j = 0; j < rank && Number.isFinite(hitDistances[i * neighbors + j]!); j++) last = hitDistances[i * neighbors + j]!;
    return last;
  })
    .filter(Number.isFinite)
    .sort();
  const reference = farthest.length ? farthest[Math.floor(farthest.length / 2)]! : 0;
  const threshold = options.threshold ?? (options.fraction ?? DEFAULT_DUPLICATE_FRACTION) * reference;
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
    reference,
    rank,
    fraction: reference > 0 ? threshold / reference : 0,
    groups: [...groups.entries()]
      .map(([root, g]) => ({ ids: g, maxDistance: maxDistance[root]! }))
      .sort((a, b) => b.ids.length - a.ids.length),
  };
}

/** A group as the review shows it: its images best first, the one kept and the ones a "keep the best" deletes. */
export interface ReviewGroup {
  maxDistance: number;
  images: ImageRecord[];
  keep: number;
  remove: number[];
}

export interface DuplicateReview extends Omit<DuplicateGroups, 'groups'> {
  groups: ReviewGroup[];
  /** Images in some group. */
  images: number;
}

/** Best first: the largest resolution, then the largest file, then the oldest. */
export function byQuality(a: ImageRecord, b: ImageRecord): number {
  return b.width * b.height - a.width * a.height || b.byteSize - a.byteSize || a.id - b.id;
}

/**
 * Near-duplicate groups for review: each group's images best first (byQuality), with the one
 * "keep the best" keeps and the ones it would delete — shown before anything is deleted. Images
 * deleted since `found` was computed drop out, and so does a group left with one image: a scan's
 * groups stay reviewable while its copies go to the trash (and come back with an undo).
 */
export function reviewGroups(library: Library, found: DuplicateGroups): DuplicateReview {
  const { groups, ...scale } = found;
  const records = getImages(
    library.db,
    groups.flatMap((g) => g.ids),
  );
  const review = groups.flatMap((group) => {
    const images = group.ids.flatMap((id) => records.get(id) ?? []).sort(byQuality);
    const [best, ...rest] = images;
    return best && rest.length ? [{ maxDistance: group.maxDistance, images, keep: best.id, remove: rest.map((r) => r.id) }] : [];
  });
  return { ...scale, groups: review, images: review.reduce((n, g) => n + g.images.length, 0) };
}

/** The groups a finished `duplicates` job found, for review (AppError when the job is another kind or has not succeeded). */
export function reviewScan(library: Library, job: Job): DuplicateReview {
  if (job.kind !== 'duplicates') throw new AppError('invalid_input', `job ${job.id} is a ${job.kind} job, not a near-duplicate search`);
  if (job.state !== 'succeeded')
    throw new AppError('conflict', `the near-duplicate search (job ${job.id}) is ${job.state}${job.error ? `: ${job.error}` : ''}`);
  return reviewGroups(library, job.result as DuplicateGroups);
}
