/**
 * The map of the latent space: 2-D coordinates of every image by PCA (fast, exact) or UMAP
 * (better structure; neighbours from exact search on small libraries, from the HNSW index on
 * large ones), stored per model so the UI can draw them. Above `MAP_SAMPLE` images UMAP runs on a
 * seeded sample and the rest are placed from their nearest sampled neighbours (found through an
 * index of the sample), so a million images map in the time of the sample plus one pass. The
 * browser gets the map as typed columns in a compact binary (map-format.ts).
 */
import { applyPca, fitPca } from '../clustering/pca';
import { placeByNeighbors, sampleIndices } from '../clustering/sampled-map';
import { umapFromNeighbors } from '../clustering/umap';
import { exactKnn } from '../engine/linear-algebra';
import { join } from 'node:path';
import { AppError } from '../errors';
import { readMap, readMapColumns, replaceMap, type MapColumns, type MapMethod, type MapPoint } from '../store/maps-repo';
import { vectorIndexBackend } from '../vector-index/backends';
import { activeModel, type ModelRecord } from '../store/models-repo';
import type { Library } from './library';
import { embeddedCount } from './library-counts';
import { encodeMap } from './map-format';
import { INDEX_SPACE, loadActiveVectors, modelIndex } from './model-service';

export const MAP_METHODS = Object.freeze(['pca', 'umap'] as const);
const NEIGHBORS = 15;
/** Up to this many images, UMAP's neighbours come from exact search; beyond, from the index. */
const EXACT_LIMIT = 20_000;
/**
 * Above this many images, UMAP maps a seeded sample of this size and places the rest. Default
 * 20,000: about a minute of umap-js here; a larger sample keeps finer structure, costs linearly more.
 */
export const MAP_SAMPLE = 20_000;
/** Sampled neighbours a placed point is put among. */
const PLACE_NEIGHBORS = 5;
/** Points placed between two progress reports and cancellation checks. */
const PLACE_BATCH = 4096;

export interface MapOptions {
  signal?: AbortSignal;
  /** `phase`: 'umap' while the (sample's) layout runs, 'place' while the other points are placed. */
  onProgress?: (done: number, total: number, phase: 'umap' | 'place') => void;
  seed?: number;
  /** UMAP on a sample of this size above it (default MAP_SAMPLE). */
  sample?: number;
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

/**
 * UMAP of a seeded sample (neighbours by exact search within it), then every other point placed
 * among its nearest sampled neighbours, found through an HNSW index of the sample (in memory only).
 */
async function sampledUmap(
  data: Float32Array,
  n: number,
  dim: number,
  size: number,
  library: Library,
  options: MapOptions,
): Promise<Float32Array> {
  const seed = options.seed ?? 0;
  const rows = sampleIndices(n, size, seed);
  const sample = new Float32Array(size * dim);
  rows.forEach((row, j) => sample.set(data.subarray(row * dim, (row + 1) * dim), j * dim));
  const k = Math.min(NEIGHBORS, size - 1);
  const { indices, distances } = exactKnn(sample, size, sample, size, dim, k, { skipSelf: true });
  for (let i = 0; i < distances.length; i++) distances[i] = Math.sqrt(distances[i]!);
  const sampleXy = await umapFromNeighbors(sample, size, dim, indices, distances, k, {
    seed,
    ...(options.signal ? { signal: options.signal } : {}),
    onProgress: (e, total) => options.onProgress?.(e, total, 'umap'),
  });
  const index = vectorIndexBackend().create(join(library.config.indexDir, 'map-sample'), { dim, space: INDEX_SPACE }, size);
  index.add(Array.from(rows, (_, j) => ({ id: j, vector: sample.subarray(j * dim, (j + 1) * dim) })));
  const coords = new Float32Array(2 * n);
  rows.forEach((row, j) => coords.set(sampleXy.subarray(2 * j, 2 * j + 2), 2 * row));
  const sampled = new Uint8Array(n);
  for (const row of rows) sampled[row] = 1;
  const neighbors = new Int32Array(PLACE_NEIGHBORS);
  const gaps = new Float32Array(PLACE_NEIGHBORS);
  for (let start = 0; start < n; start += PLACE_BATCH) {
    if (options.signal?.aborted) throw new AppError('cancelled', 'the map was cancelled');
    const end = Math.min(n, start + PLACE_BATCH);
    for (let i = start; i < end; i++) {
      if (sampled[i]) continue;
      const hits = index.search(data.subarray(i * dim, (i + 1) * dim), PLACE_NEIGHBORS, { ef: 32 });
      hits.forEach((h, j) => {
        neighbors[j] = h.id;
        gaps[j] = Math.sqrt(h.distance);
      });
      placeByNeighbors(sampleXy, neighbors.subarray(0, hits.length), gaps.subarray(0, hits.length), coords, i);
    }
    options.onProgress?.(end, n, 'place');
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return coords;
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
  } else if (n > (options.sample ?? MAP_SAMPLE)) {
    coords = await sampledUmap(data, n, dim, options.sample ?? MAP_SAMPLE, library, options);
  } else {
    const k = Math.min(NEIGHBORS, n - 1);
    const { indices, distances } = latentNeighbors(library, model, ids, data, dim, k);
    coords = await umapFromNeighbors(data, n, dim, indices, distances, k, {
      seed: options.seed ?? 0,
      ...(options.signal ? { signal: options.signal } : {}),
      onProgress: (e, total) => options.onProgress?.(e, total, 'umap'),
    });
  }
  // Cancelled at any point before the store, nothing is stored.
  if (options.signal?.aborted) throw new AppError('cancelled', 'the map was cancelled');
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

/**
 * The active model's map for the browser as typed columns (cluster in `runId`, first label), with
 * whether it is stale. A missing or stale PCA map is computed on the spot (fast, exact); UMAP is a job.
 */
export async function mapForBrowser(
  library: Library,
  method: MapMethod,
  runId: number | null,
): Promise<{ columns: MapColumns; stale: boolean } | null> {
  const model = activeModel(library.db);
  if (!model) return null;
  let columns = await readMapColumns(library.db, model.id, method, runId);
  const embedded = embeddedCount(library, model.id);
  if (method === 'pca' && columns.ids.length !== embedded && embedded >= 2) {
    await computeMap(library, 'pca');
    columns = await readMapColumns(library.db, model.id, method, runId);
  }
  return { columns, stale: columns.ids.length !== embedded };
}

/** The map as the Clusters page reads it: one object a point (json) or typed columns (binary). */
export interface LatentMap {
  method: MapMethod;
  /** True when images were added or removed since the map was computed. */
  stale: boolean;
  points: { id: number; x: number; y: number; cluster: number | null; label: string | null }[];
}

const NO_COLUMNS: MapColumns = Object.freeze({
  ids: new Uint32Array(0),
  xy: new Float32Array(0),
  cluster: new Int32Array(0),
  label: new Int32Array(0),
  labels: [],
});

/** The active model's map in map-format.ts's compact binary (20 bytes a point, for large libraries). */
export async function activeModelMapBinary(library: Library, method: MapMethod, runId: number | null): Promise<Uint8Array<ArrayBuffer>> {
  const map = await mapForBrowser(library, method, runId);
  return new Uint8Array(encodeMap(map?.columns ?? NO_COLUMNS, { method, stale: map?.stale ?? false }));
}

/** Points per slice of the JSON map's text. */
const JSON_SLICE = 16_384;

/**
 * The active model's map as the JSON document `activeModelMap` gives, in slices of text made from
 * the typed columns one slice at a time as they are asked for: no object per point, and never the
 * whole text at once. At a million points the whole document (a million objects, then 92 MB of
 * text) took the web process from 1.29 GB to 1.83 GB. The map is read before the first slice, so a
 * failure is thrown here, not halfway through a response. `slice`: points a slice (default 16,384).
 */
export async function activeModelMapJsonSlices(
  library: Library,
  method: MapMethod,
  runId: number | null = null,
  slice = JSON_SLICE,
): Promise<Iterable<string>> {
  const map = await mapForBrowser(library, method, runId);
  const stale = map?.stale ?? false;
  const { ids, xy, cluster, label, labels } = map?.columns ?? NO_COLUMNS;
  const labelJson = labels.map((l) => JSON.stringify(l));
  const number = (x: number) => (Number.isFinite(x) ? String(x) : 'null');
  return (function* () {
    yield `{"method":${JSON.stringify(method)},"stale":${stale},"points":[`;
    for (let start = 0; start < ids.length; start += slice) {
      const parts: string[] = [];
      for (let i = start; i < Math.min(ids.length, start + slice); i++) {
        const c = cluster[i]!;
        const l = label[i]!;
        parts.push(
          `{"id":${ids[i]},"x":${number(xy[2 * i]!)},"y":${number(xy[2 * i + 1]!)},"cluster":${c < 0 ? 'null' : c},"label":${l < 0 ? 'null' : labelJson[l]}}`,
        );
      }
      yield (start ? ',' : '') + parts.join(',');
    }
    yield ']}';
  })();
}

/** The active model's map, one object a point (empty without a model). */
export async function activeModelMap(library: Library, method: MapMethod, runId: number | null = null): Promise<LatentMap> {
  const map = await mapForBrowser(library, method, runId);
  if (!map) return { method, points: [], stale: false };
  const { ids, xy, cluster, label, labels } = map.columns;
  return {
    method,
    stale: map.stale,
    points: Array.from(ids, (id, i) => ({
      id,
      x: xy[2 * i]!,
      y: xy[2 * i + 1]!,
      cluster: cluster[i]! < 0 ? null : cluster[i]!,
      label: label[i]! < 0 ? null : labels[label[i]!]!,
    })),
  };
}
