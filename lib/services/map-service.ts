/**
 * The map of the latent space: 2-D coordinates of every image by PCA (fast, exact) or UMAP
 * (better structure; neighbours from exact search on small libraries, from the HNSW index on
 * large ones), stored per model so the UI can draw them.
 */
import { applyPca, fitPca } from '../clustering/pca';
import { umapFromNeighbors } from '../clustering/umap';
import { exactKnn } from '../engine/linear-algebra';
import { AppError } from '../errors';
import { runAssignments } from '../store/clusters-repo';
import { countEmbeddings } from '../store/embeddings-repo';
import { getImages } from '../store/images-repo';
import { readMap, replaceMap, type MapMethod, type MapPoint } from '../store/maps-repo';
import { activeModel, type ModelRecord } from '../store/models-repo';
import type { Library } from './library';
import { loadActiveVectors, modelIndex } from './model-service';

export const MAP_METHODS = Object.freeze(['pca', 'umap'] as const);
const NEIGHBORS = 15;
/** Up to this many images, UMAP's neighbours come from exact search; beyond, from the index. */
const EXACT_LIMIT = 20_000;

export interface MapOptions {
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  seed?: number;
}

/**
 * Each vector's k nearest others (Euclidean distances): exact on small libraries, through the
 * model's HNSW index on large ones.
 */
export function latentNeighbors(
  library: Library,
  model: ModelRecord,
  ids: number[],
  data: Float32Array,
  dim: number,
  k: number,
): { indices: Int32Array; distances: Float32Array } {
  const n = ids.length;
  let indices: Int32Array;
  let distances: Float32Array;
  if (n <= EXACT_LIMIT) {
    ({ indices, distances } = exactKnn(data, n, data, n, dim, k, { skipSelf: true }));
  } else {
    indices = new Int32Array(n * k);
    distances = new Float32Array(n * k);
    const position = new Map(ids.map((id, i) => [id, i]));
    const { index } = modelIndex(library, model);
    for (let i = 0; i < n; i++) {
      const hits = index
        .search(data.subarray(i * dim, (i + 1) * dim), k + 1)
        .filter((h) => h.id !== ids[i])
        .slice(0, k);
      hits.forEach((h, j) => {
        indices[i * k + j] = position.get(h.id) ?? i;
        distances[i * k + j] = h.distance;
      });
    }
  }
  for (let i = 0; i < distances.length; i++) distances[i] = Math.sqrt(distances[i]!);
  return { indices, distances };
}

/** Computes and stores the active model's map by `method`. */
export async function computeMap(library: Library, method: MapMethod, options: MapOptions = {}): Promise<MapPoint[]> {
  if (!MAP_METHODS.includes(method))
    throw new AppError('invalid_input', `unknown map method '${method}'; valid: ${MAP_METHODS.join(', ')}`);
  const { model, ids, data, dim } = loadActiveVectors(library);
  const n = ids.length;
  let coords: Float32Array;
  if (method === 'pca' || n < 4) {
    if (n < 2) throw new AppError('invalid_input', 'a map needs at least 2 images');
    coords = applyPca(fitPca(data, n, dim, Math.min(2, dim)), data, n);
  } else {
    const k = Math.min(NEIGHBORS, n - 1);
    const { indices, distances } = latentNeighbors(library, model, ids, data, dim, k);
    coords = await umapFromNeighbors(data, n, dim, indices, distances, k, {
      seed: options.seed ?? 0,
      ...(options.signal ? { signal: options.signal } : {}),
      onProgress: (e, total) => options.onProgress?.(e, total),
    });
  }
  const points = ids.map((imageId, i) => ({ imageId, x: coords[i * 2]!, y: coords[i * 2 + 1] ?? 0 }));
  replaceMap(library.db, model.id, method, points);
  return points;
}

/** The stored map of the active model (empty until computed). */
export function storedMap(library: Library, method: MapMethod): MapPoint[] {
  const model = activeModel(library.db);
  if (!model) throw new AppError('not_found', 'no active model yet');
  return readMap(library.db, model.id, method);
}

/** The map as the Clusters page draws it: one point per stored image, with its cluster and first label. */
export interface LatentMap {
  method: MapMethod;
  /** True when images were added or removed since the map was computed. */
  stale: boolean;
  points: { id: number; x: number; y: number; cluster: number | null; label: string | null }[];
}

/**
 * The 2-D map of the active model's latent space (empty without one), each point with its cluster
 * in `runId` and its first label. A missing or outdated PCA map is computed on the spot (fast,
 * exact); UMAP takes a job (computeMap), so an outdated one is answered as `stale`.
 */
export async function activeModelMap(library: Library, method: MapMethod, runId?: number): Promise<LatentMap> {
  const model = activeModel(library.db);
  if (!model) return { method, points: [], stale: false };
  let points = storedMap(library, method);
  const embedded = countEmbeddings(library.db, model.id);
  if (method === 'pca' && points.length !== embedded && embedded >= 2) points = await computeMap(library, 'pca');
  const clusters = runId ? runAssignments(library.db, runId) : null;
  const images = getImages(
    library.db,
    points.map((p) => p.imageId),
  );
  return {
    method,
    stale: points.length !== embedded,
    points: points
      .filter((p) => images.has(p.imageId))
      .map((p) => ({
        id: p.imageId,
        x: p.x,
        y: p.y,
        cluster: clusters?.get(p.imageId) ?? null,
        label: images.get(p.imageId)!.labels[0] ?? null,
      })),
  };
}
