/**
 * Corrections by hand: move images to another cluster, merge two clusters, split one into k.
 * Moves and merges are kept as the user's own: the images are pinned to the target cluster's
 * name, and the next clustering run of the same model puts every pinned image of a name into one
 * cluster carrying that name (the cluster most of them fell into).
 */
import { kmeans } from '../clustering/kmeans';
import { AppError } from '../errors';
import { immediate } from '../store/database';
import { iterateEmbeddings } from '../store/embeddings-repo';
import {
  getClusterRun,
  pinImages,
  pinnedGroups,
  reassignImages,
  runAssignments,
  updateClusterRunResult,
  type ClusterRun,
  type ClusterSummary,
} from '../store/clusters-repo';
import { getModel } from '../store/models-repo';
import type { Library } from './library';

/** The name a cluster shows: the user's, or "Cluster n" (1-based). */
export const clusterLabel = (c: Pick<ClusterSummary, 'cluster' | 'name'>): string => c.name ?? `Cluster ${c.cluster + 1}`;

/**
 * Summaries of clusters from assignments over row-major vectors: size, centroid, spread (mean
 * squared distance), `listed` representatives (nearest the centroid) and outliers (farthest).
 * Returns per-image distances to their centroid too.
 */
export function summariseAssignments(
  data: Float32Array,
  dim: number,
  ids: readonly number[],
  assignments: ArrayLike<number>,
  clusters: readonly number[],
  names: ReadonlyMap<number, string | null>,
  listed: number,
): { summaries: ClusterSummary[]; distances: Float64Array } {
  const distances = new Float64Array(ids.length);
  const summaries = clusters.map((cluster) => {
    const members: number[] = [];
    for (let i = 0; i < ids.length; i++) if (assignments[i] === cluster) members.push(i);
    const centroid = new Float64Array(dim);
    for (const i of members) for (let j = 0; j < dim; j++) centroid[j]! += data[i * dim + j]! / members.length;
    for (const i of members) {
      let d = 0;
      for (let j = 0; j < dim; j++) d += (data[i * dim + j]! - centroid[j]!) ** 2;
      distances[i] = d;
    }
    const byDistance = [...members].sort((a, b) => distances[a]! - distances[b]!);
    return {
      cluster,
      name: names.get(cluster) ?? null,
      size: members.length,
      centroid: Array.from(centroid),
      spread: members.length ? members.reduce((s, i) => s + distances[i]!, 0) / members.length : 0,
      representatives: byDistance.slice(0, listed).map((i) => ids[i]!),
      outliers: byDistance
        .slice(-listed)
        .reverse()
        .map((i) => ids[i]!),
    };
  });
  return { summaries, distances };
}

/**
 * Applies the model's pins to fresh k-means assignments (changed in place): each group goes, whole,
 * to the cluster most of its images fell into (one group per cluster; ties and clashes go to the
 * next best cluster), which is named after the group. Returns the names given.
 */
export function applyPins(
  library: Library,
  modelId: number,
  ids: readonly number[],
  assignments: Int32Array | number[],
  k: number,
): Map<number, string> {
  const names = new Map<number, string>();
  const row = new Map(ids.map((id, i) => [id, i]));
  const groups = [...pinnedGroups(library.db, modelId)].sort((a, b) => b[1].length - a[1].length);
  for (const [group, members] of groups) {
    const rows = members.map((id) => row.get(id)).filter((i): i is number => i !== undefined);
    if (rows.length === 0) continue;
    const votes = new Map<number, number>();
    for (const i of rows) votes.set(assignments[i]!, (votes.get(assignments[i]!) ?? 0) + 1);
    const ranked = [...Array(k).keys()].sort((a, b) => (votes.get(b) ?? 0) - (votes.get(a) ?? 0) || a - b);
    const target = ranked.find((c) => !names.has(c));
    if (target === undefined) break; // more groups than clusters: the rest stay where k-means put them
    names.set(target, group);
    for (const i of rows) assignments[i] = target;
  }
  return names;
}

function requireRun(library: Library, runId: number): ClusterRun {
  const run = getClusterRun(library.db, runId);
  if (!run) throw new AppError('not_found', `cluster run ${runId} not found`);
  return run;
}

function requireCluster(run: ClusterRun, cluster: number): ClusterSummary {
  const found = run.result.clusters.find((c) => c.cluster === cluster);
  if (!found) throw new AppError('not_found', `cluster ${cluster} not found in run ${run.id}`);
  return found;
}

/** The run's images and their vectors under the run's model, in one row-major array. */
function runVectors(library: Library, run: ClusterRun) {
  const model = getModel(library.db, run.modelId);
  if (!model) throw new AppError('not_found', `the model of cluster run ${run.id} is gone`);
  const assigned = runAssignments(library.db, run.id);
  const ids: number[] = [];
  const chunks: Float32Array[] = [];
  for (const e of iterateEmbeddings(library.db, model.id, model.latentSize)) {
    if (!assigned.has(e.imageId)) continue;
    ids.push(e.imageId);
    chunks.push(e.vector);
  }
  const data = new Float32Array(ids.length * model.latentSize);
  chunks.forEach((v, i) => data.set(v, i * model.latentSize));
  return { ids, data, dim: model.latentSize, assignments: ids.map((id) => assigned.get(id)!) };
}

/** Recomputes the summaries (in the latent space) and distances after an edit, and stores them. */
function storeEdit(
  library: Library,
  run: ClusterRun,
  vectors: ReturnType<typeof runVectors>,
  clusters: number[],
  names: Map<number, string | null>,
): ClusterRun {
  const listed = Math.max(1, run.result.clusters[0]?.representatives.length ?? 6);
  const { summaries, distances } = summariseAssignments(
    vectors.data,
    vectors.dim,
    vectors.ids,
    vectors.assignments,
    clusters,
    names,
    listed,
  );
  const result = { ...run.result, clusters: summaries, edited: true };
  immediate(library.db, () => {
    reassignImages(
      library.db,
      run.id,
      vectors.ids.map((imageId, i) => ({ imageId, cluster: vectors.assignments[i]!, distance: distances[i]! })),
    );
    updateClusterRunResult(library.db, run.id, result);
  });
  return requireRun(library, run.id);
}

/** Moves images into cluster `to` (named "Cluster n" if it had no name) and pins them there. */
export function moveToCluster(library: Library, runId: number, imageIds: readonly number[], to: number): ClusterRun {
  const run = requireRun(library, runId);
  const target = requireCluster(run, to);
  if (imageIds.length === 0) throw new AppError('invalid_input', 'choose at least one image to move');
  const vectors = runVectors(library, run);
  const row = new Map(vectors.ids.map((id, i) => [id, i]));
  const missing = imageIds.filter((id) => !row.has(id));
  if (missing.length)
    throw new AppError('not_found', `image${missing.length > 1 ? 's' : ''} ${missing.slice(0, 5).join(', ')} not in run ${runId}`);
  for (const id of imageIds) vectors.assignments[row.get(id)!] = to;
  const name = clusterLabel(target);
  const names = new Map(run.result.clusters.map((c) => [c.cluster, c.name]));
  names.set(to, name);
  pinImages(library.db, run.modelId, imageIds, name);
  const remaining = run.result.clusters.map((c) => c.cluster).filter((c) => c === to || vectors.assignments.includes(c));
  return storeEdit(library, run, vectors, remaining, names);
}

/** Merges cluster `from` into `into`: its images move (pinned), and `from` disappears. */
export function mergeClusters(library: Library, runId: number, from: number, into: number): ClusterRun {
  const run = requireRun(library, runId);
  requireCluster(run, from);
  requireCluster(run, into);
  if (from === into) throw new AppError('invalid_input', 'a cluster cannot be merged into itself');
  const vectors = runVectors(library, run);
  const moving = vectors.ids.filter((_, i) => vectors.assignments[i] === from);
  if (moving.length === 0) {
    const names = new Map(run.result.clusters.map((c) => [c.cluster, c.name]));
    return storeEdit(
      library,
      run,
      vectors,
      run.result.clusters.map((c) => c.cluster).filter((c) => c !== from),
      names,
    );
  }
  return moveToCluster(library, runId, moving, into);
}

/** Splits a cluster into k by k-means on its members' latent vectors; the new parts get new numbers. */
export function splitCluster(library: Library, runId: number, cluster: number, k: number): ClusterRun {
  const run = requireRun(library, runId);
  const source = requireCluster(run, cluster);
  if (!Number.isInteger(k) || k < 2 || k > 20) throw new AppError('invalid_input', `split into an integer from 2 to 20 parts; got ${k}`);
  const vectors = runVectors(library, run);
  const rows = vectors.ids.map((_, i) => i).filter((i) => vectors.assignments[i] === cluster);
  if (rows.length < k)
    throw new AppError('invalid_input', `cluster ${clusterLabel(source)} has ${rows.length} images, too few to split into ${k}`);
  const sub = new Float32Array(rows.length * vectors.dim);
  rows.forEach((i, j) => sub.set(vectors.data.subarray(i * vectors.dim, (i + 1) * vectors.dim), j * vectors.dim));
  const parts = kmeans(sub, rows.length, vectors.dim, { k, seed: 0, restarts: 3 });
  const next = Math.max(...run.result.clusters.map((c) => c.cluster)) + 1;
  const numberOf = (part: number) => (part === 0 ? cluster : next + part - 1);
  rows.forEach((i, j) => (vectors.assignments[i] = numberOf(parts.assignments[j]!)));
  const names = new Map(run.result.clusters.map((c) => [c.cluster, c.name]));
  const clusters = [...run.result.clusters.map((c) => c.cluster), ...Array.from({ length: k - 1 }, (_, p) => next + p)];
  return storeEdit(library, run, vectors, clusters, names);
}
