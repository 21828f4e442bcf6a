/**
 * Grouping a library: k-means over the active model's stored vectors (k given, or chosen by the
 * eigengap of the vectors' neighbour graph on a sample, with the silhouette and the elbow of
 * inertia by k reported for the UI), stored as a
 * run with a summary per cluster; clusters can be named and exported as a manifest (CSV/JSON) or
 * a folder of copies of their originals.
 */
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { kmeans, sampledKMeans, type KMeansResult } from '../clustering/kmeans';
import { writeFileDurable } from '../durable-file';
import { silhouetteScore } from '../clustering/silhouette';
import { graphSpectrum } from '../clustering/spectral-gap';
import { pairwiseSquaredDistances } from '../engine/linear-algebra';
import { AppError } from '../errors';
import { seededRandom } from '../random';
import { z } from 'zod';
import {
  clusterMemberPage,
  clusterMembers,
  getClusterRun,
  insertClusterRun,
  renamePinGroup,
  updateClusterRunResult,
  listClusterRuns,
  type ClusterRun,
  type ClusterSummary,
  type MemberCursor,
} from '../store/clusters-repo';
import { getImages } from '../store/images-repo';
import { activeModel } from '../store/models-repo';
import { originalPath, type Library } from './library';
import { loadActiveVectors } from './model-service';
import { latentNeighbors } from './map-service';
import { applyPins, clusterLabel, summariseAssignments } from './cluster-edit-service';
import { immediate } from '../store/database';
import { umapFromNeighbors } from '../clustering/umap';

export type { ClusterRun, ClusterSummary } from '../store/clusters-repo';

export interface ClusterRequest {
  /** Number of clusters, or 'auto' to choose by the neighbour graph's eigengap over `range` (see `bestK`). */
  k: number | 'auto';
  /** Candidate k for 'auto'. Default [2, 20]. */
  range?: [number, number];
  seed?: number;
  restarts?: number;
  /** Images per cluster listed as representatives and as outliers. Default 6. */
  listed?: number;
  /** Cluster a UMAP projection of the vectors (N2D) instead of the vectors themselves. Default false. */
  umap?: boolean;
  /**
   * Above this many images, k-means is fitted on a seeded sample of this size and every image is
   * then assigned to its nearest centroid. Default 100,000: beyond it the fit stops growing with
   * the library (a million images cluster in the time of 100,000 plus one pass) for NMI within
   * ~0.01 of k-means on all (docs/sizing.md); larger follows the full fit more closely, slower.
   */
  sample?: number;
}

/** Vectors each candidate k is fitted on when choosing k: the choice needs the shape, not every point. */
const CHOOSE_K_SAMPLE = 20_000;

/** One candidate k of the automatic choice: inertia and silhouette (the chart) and the graph's eigengap at k (the choice). */
export interface KCandidate {
  k: number;
  inertia: number;
  silhouette: number;
  /** λ_{k+1} − λ_k of the neighbour graph's normalised Laplacian (lib/clustering/spectral-gap.ts). */
  eigengap: number;
}

/**
 * What the Clusters page's auto k picks: the k of the largest eigengap of the vectors' neighbour
 * graph (the number of loosely joined groups), the silhouette breaking exact ties.
 */
export function bestK(elbow: readonly KCandidate[]): number {
  return elbow.reduce((best, e) =>
    e.eigengap > best.eigengap || (e.eigengap === best.eigengap && e.silhouette > best.silhouette) ? e : best,
  ).k;
}

/** Points whose neighbour graph's spectrum is computed (a dense O(n³) solve, well under a second at 500; 25 points per cluster at k = 20). */
const SPECTRUM_SAMPLE = 500;

/**
 * For each k in the range: inertia and silhouette (on a sample of ≤ 2,000), each k fitted on a
 * sample of ≤ 20,000 vectors (the silhouette's sample is part of it), and the eigengap at k of the
 * 10-nearest-neighbour graph of a sample of ≤ 500: choosing k costs the same for a million
 * images as for twenty thousand. Inertia is the fitted sample's.
 */
export function chooseK(data: Float32Array, n: number, dim: number, range: [number, number], seed: number): KCandidate[] {
  const [lo, hi] = range;
  if (!Number.isInteger(lo) || !Number.isInteger(hi) || lo < 2 || hi < lo)
    throw new AppError('invalid_input', `k range must be integers with 2 ≤ from ≤ to; got ${lo}..${hi}`);
  if (n < 3) throw new AppError('invalid_input', `too few images (${n}) to choose k in ${lo}..${hi}`);
  const random = seededRandom(seed);
  const f = Math.min(n, CHOOSE_K_SAMPLE);
  const m = Math.min(f, 2000);
  const picked = new Set<number>();
  while (picked.size < f) picked.add(Math.floor(random() * n));
  const fitData = new Float32Array(f * dim);
  [...picked].forEach((i, j) => fitData.set(data.subarray(i * dim, (i + 1) * dim), j * dim));
  // The first m of the fitted sample are the silhouette's, the first s of those the graph's.
  const distances = pairwiseSquaredDistances(fitData.subarray(0, m * dim), m, dim);
  const s = Math.min(m, SPECTRUM_SAMPLE);
  const graphDistances = s === m ? distances : pairwiseSquaredDistances(fitData.subarray(0, s * dim), s, dim);
  const spectrum = graphSpectrum(graphDistances, s, hi + 1);
  const silhouetteRows = Array.from({ length: m }, (_, j) => j);
  const elbow: KCandidate[] = [];
  for (let k = lo; k <= Math.min(hi, n - 1, spectrum.length - 1); k++) {
    const result = kmeans(fitData, f, dim, { k, seed, restarts: 1 });
    elbow.push({
      k,
      inertia: result.inertia,
      silhouette: silhouetteScore(
        distances,
        silhouetteRows.map((j) => result.assignments[j]!),
        k,
      ),
      eigengap: spectrum[k]! - spectrum[k - 1]!,
    });
  }
  if (elbow.length === 0) throw new AppError('invalid_input', `too few images (${n}) to choose k in ${lo}..${hi}`);
  return elbow;
}

function summarise(result: KMeansResult, ids: number[], listed: number): ClusterSummary[] {
  const members: number[][] = Array.from({ length: result.k }, () => []);
  result.assignments.forEach((c, i) => members[c]!.push(i));
  return members.map((m, cluster) => {
    const byDistance = [...m].sort((a, b) => result.distances[a]! - result.distances[b]!);
    return {
      cluster,
      name: null,
      size: m.length,
      centroid: Array.from(result.centroids.subarray(cluster * result.dim, (cluster + 1) * result.dim)),
      spread: m.length ? m.reduce((s, i) => s + result.distances[i]!, 0) / m.length : 0,
      representatives: byDistance.slice(0, listed).map((i) => ids[i]!),
      outliers: byDistance
        .slice(-listed)
        .reverse()
        .map((i) => ids[i]!),
    };
  });
}

/** Clusters the library and stores the run (centroids and distances are in the space clustered). */
export async function runClustering(library: Library, request: ClusterRequest): Promise<ClusterRun> {
  const loaded = loadActiveVectors(library);
  const { model, ids } = loaded;
  let { data, dim } = loaded;
  if (request.umap) {
    if (ids.length < 4) throw new AppError('invalid_input', 'UMAP clustering needs at least 4 images');
    const k = Math.min(20, ids.length - 1);
    const { indices, distances } = latentNeighbors(library, model, ids, data, dim, k);
    const components = Math.min(10, dim);
    data = await umapFromNeighbors(data, ids.length, dim, indices, distances, k, {
      components,
      neighbors: k,
      minDist: 0,
      seed: request.seed ?? 0,
    });
    dim = components;
  }
  const seed = request.seed ?? 0;
  const restarts = request.restarts ?? 3;
  let k: number;
  let elbow: KCandidate[] | undefined;
  if (request.k === 'auto') {
    elbow = chooseK(data, ids.length, dim, request.range ?? [2, 20], seed);
    k = bestK(elbow);
  } else {
    k = request.k;
  }
  const result = sampledKMeans(data, ids.length, dim, { k, seed, restarts, ...(request.sample ? { sample: request.sample } : {}) });
  // The user's corrections of earlier runs (pins) hold: each pinned group lands whole in one named cluster.
  const listed = request.listed ?? 6;
  const pinned = applyPins(library, model.id, ids, result.assignments, k);
  const summary = pinned.size
    ? summariseAssignments(data, dim, ids, result.assignments, [...Array(k).keys()], pinned, listed)
    : { summaries: summarise(result, ids, listed), distances: result.distances };
  return insertClusterRun(
    library.db,
    {
      modelId: model.id,
      params: { k, seed, restarts, auto: request.k === 'auto', umap: request.umap ?? false },
      result: {
        clusters: summary.summaries,
        inertia: result.inertia,
        iterations: result.iterations,
        ...(elbow ? { elbow } : {}),
      },
    },
    ids.map((imageId, i) => ({ imageId, cluster: result.assignments[i]!, distance: summary.distances[i]! })),
  );
}

/** A run by id (and, when given, one of its clusters); AppError('not_found') otherwise. */
export function clusterRunOrThrow(library: Library, runId: number, cluster?: number): ClusterRun {
  const run = getClusterRun(library.db, runId);
  if (!run) throw new AppError('not_found', `cluster run ${runId} not found`);
  if (cluster !== undefined && !run.result.clusters.some((c) => c.cluster === cluster))
    throw new AppError('not_found', `cluster ${cluster} not found in run ${runId}`);
  return run;
}

/** Names a cluster (trimmed, 1–100 characters). */
export function nameCluster(library: Library, runId: number, cluster: number, name: string): ClusterRun {
  const run = clusterRunOrThrow(library, runId, cluster);
  const clean = name.trim();
  if (clean.length < 1 || clean.length > 100) throw new AppError('invalid_input', 'a cluster name must have 1 to 100 characters');
  const result = { ...run.result, clusters: run.result.clusters.map((c) => (c.cluster === cluster ? { ...c, name: clean } : c)) };
  const before = clusterLabel(run.result.clusters.find((c) => c.cluster === cluster)!);
  immediate(library.db, () => {
    updateClusterRunResult(library.db, runId, result);
    renamePinGroup(library.db, run.modelId, before, clean); // pinned corrections follow the new name
  });
  return { ...run, result };
}

export interface ManifestRow {
  id: number;
  name: string | null;
  contentHash: string;
  format: string;
  modality: string;
  labels: string[];
  distance: number;
}

/** A cluster's members, nearest to the centroid first. */
export function clusterManifest(library: Library, runId: number, cluster: number): ManifestRow[] {
  clusterRunOrThrow(library, runId, cluster);
  const members = clusterMembers(library.db, runId, cluster);
  const images = getImages(
    library.db,
    members.map((m) => m.imageId),
  );
  return members
    .filter((m) => images.has(m.imageId))
    .map((m) => {
      const image = images.get(m.imageId)!;
      return {
        id: image.id,
        name: image.originalName,
        contentHash: image.contentHash,
        format: image.format,
        modality: image.modality,
        labels: image.labels,
        distance: m.distance,
      };
    });
}

/**
 * The text form of a member cursor, `<distance>_<image id>`, as the API hands it out and takes it
 * back (parsed at the edge with this schema).
 */
export const memberCursorSchema = z
  .string()
  .regex(/^[0-9.]+(?:e[-+]?[0-9]+)?_[1-9][0-9]{0,14}$/, 'a cursor from the previous page')
  .transform((text): MemberCursor => {
    const [distance, imageId] = text.split('_');
    return { distance: Number(distance), imageId: Number(imageId) };
  });
const cursorText = (c: MemberCursor) => `${c.distance}_${c.imageId}`;

export interface ClusterPage {
  runId: number;
  summary: ClusterSummary;
  /** Live members of the cluster, over all pages. */
  total: number;
  members: { id: number; name: string | null; labels: string[]; distance: number }[];
  /** The `cursor` of the next page; null on the last. */
  nextCursor: string | null;
  outliers: { id: number; name: string | null }[];
}

/** A cluster's summary, a page of its members (nearest to the centroid first, by keyset) and its outliers. */
export function clusterPage(library: Library, runId: number, cluster: number, page: { after?: MemberCursor; limit: number }): ClusterPage {
  const run = clusterRunOrThrow(library, runId, cluster);
  const summary = run.result.clusters.find((c) => c.cluster === cluster)!;
  const { members, total, nextCursor } = clusterMemberPage(library.db, runId, cluster, page);
  const images = getImages(library.db, [...members.map((m) => m.imageId), ...summary.outliers]);
  return {
    runId,
    summary,
    total,
    members: members
      .filter((m) => images.has(m.imageId))
      .map((m) => {
        const image = images.get(m.imageId)!;
        return { id: image.id, name: image.originalName, labels: image.labels, distance: m.distance };
      }),
    nextCursor: nextCursor ? cursorText(nextCursor) : null,
    outliers: summary.outliers.filter((id) => images.has(id)).map((id) => ({ id, name: images.get(id)!.originalName })),
  };
}

const csvCell = (v: unknown) => {
  const s = Array.isArray(v) ? v.join(';') : String(v ?? '');
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** The manifest as CSV (RFC 4180 quoting) or JSON. */
export function formatManifest(rows: ManifestRow[], format: 'csv' | 'json'): string {
  if (format === 'json') return JSON.stringify(rows, null, 2);
  const header = ['id', 'name', 'contentHash', 'format', 'modality', 'labels', 'distance'] as const;
  return [header.join(','), ...rows.map((r) => header.map((h) => csvCell(r[h])).join(','))].join('\n') + '\n';
}

/** One line per run of the active model, newest first: what the Clusters page lists. */
export interface ClusterRunListing {
  id: number;
  createdAt: string;
  params: ClusterRun['params'];
  sizes: number[];
}

/** The cluster runs of the active model (none without one), newest first. */
export function activeModelClusterRuns(library: Library): ClusterRunListing[] {
  const model = activeModel(library.db);
  return listClusterRuns(library.db)
    .filter((r) => r.modelId === model?.id)
    .map((r) => ({ id: r.id, createdAt: r.createdAt, params: r.params, sizes: r.result.clusters.map((c) => c.size) }));
}

/** A cluster's manifest as the text of a CSV or JSON file. */
export function clusterManifestFile(library: Library, runId: number, cluster: number, format: 'csv' | 'json'): string {
  return formatManifest(clusterManifest(library, runId, cluster), format);
}

/**
 * Copies a cluster's originals into `dest` (created), named `<id>.<format>` — never by the name a
 * user gave — with a manifest.csv beside them, written last. Returns how many files were written;
 * on a failure (a full disk: AppError 'storage_full') the files it wrote are removed again.
 */
export async function exportClusterFolder(library: Library, runId: number, cluster: number, dest: string): Promise<number> {
  const rows = clusterManifest(library, runId, cluster);
  const written: string[] = [];
  try {
    await mkdir(dest, { recursive: true });
    for (const row of rows) {
      const path = join(dest, `${row.id}.${row.format === 'jpeg' ? 'jpg' : row.format === 'dicom' ? 'dcm' : row.format}`);
      await writeFileDurable(path, await readFile(originalPath(library.config, row.contentHash)), { durable: false });
      written.push(path);
    }
    await writeFileDurable(join(dest, 'manifest.csv'), formatManifest(rows, 'csv'));
  } catch (error) {
    // A full disk midway: no half export is left to be mistaken for a whole one.
    await Promise.all(written.map((path) => rm(path, { force: true })));
    throw error;
  }
  return rows.length;
}
