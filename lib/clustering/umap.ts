/**
 * UMAP (umap-js) for the latent map and for clustering in a low-dimensional space (as N2D).
 * Neighbours come precomputed (from the HNSW index or exact search), which umap-js's own
 * neighbour search cannot match on large libraries; epochs run in steps so long work reports
 * progress and can be cancelled.
 */
import { UMAP } from 'umap-js';
import { AppError } from '../errors';
import { seededRandom } from '../random';

export interface UmapOptions {
  /** Output dimensions: 2 for a map, ~10 for clustering. Default 2. */
  components?: number;
  /** Neighbours per point: larger keeps more global structure. Default 15. */
  neighbors?: number;
  /** Smallest distance between embedded points: smaller packs clusters tighter. Default 0.1. */
  minDist?: number;
  seed?: number;
  signal?: AbortSignal;
  onProgress?: (epoch: number, epochs: number) => void;
}

/**
 * Embeds n points given their k nearest neighbours (indices into 0..n-1, Euclidean distances,
 * the point itself excluded), returning n × components coordinates.
 */
export async function umapFromNeighbors(
  data: Float32Array,
  n: number,
  dim: number,
  knnIndices: Int32Array,
  knnDistances: Float32Array,
  k: number,
  options: UmapOptions = {},
): Promise<Float32Array> {
  const components = options.components ?? 2;
  if (n < 3) throw new AppError('invalid_input', `UMAP needs at least 3 points; got ${n}`);
  const neighbors = Math.min(k, options.neighbors ?? 15, n - 1);
  const umap = new UMAP({
    nComponents: components,
    nNeighbors: neighbors + 1,
    minDist: options.minDist ?? 0.1,
    random: seededRandom(options.seed ?? 0),
  });
  // umap-js expects each point to list itself first, at distance 0.
  const indices = Array.from({ length: n }, (_, i) => [i, ...Array.from(knnIndices.subarray(i * k, i * k + neighbors))]);
  const distances = Array.from({ length: n }, (_, i) => [0, ...Array.from(knnDistances.subarray(i * k, i * k + neighbors))]);
  umap.setPrecomputedKNN(indices, distances);
  const rows = Array.from({ length: n }, (_, i) => Array.from(data.subarray(i * dim, (i + 1) * dim)));
  const epochs = umap.initializeFit(rows);
  for (let e = 0; e < epochs; e++) {
    if (options.signal?.aborted) throw new AppError('cancelled', 'UMAP was cancelled');
    umap.step();
    if (e % 10 === 0 || e === epochs - 1) {
      options.onProgress?.(e + 1, epochs);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
  return Float32Array.from(umap.getEmbedding().flat());
}
