/**
 * Quality metrics for embeddings, pure and typed-array based: clustering accuracy (best
 * one-to-one matching of clusters to labels, by the Jonker–Volgenant assignment), normalised
 * mutual information (arithmetic normalisation, as scikit-learn), adjusted Rand index, and
 * retrieval precision@k.
 */
import { linearSumAssignment } from 'linear-sum-assignment';
import { AppError } from '../errors';

type Labels = ArrayLike<number>;

function check(labels: Labels, clusters: Labels): void {
  if (labels.length !== clusters.length)
    throw new AppError('invalid_input', `${labels.length} labels but ${clusters.length} cluster assignments`);
  if (labels.length === 0) throw new AppError('invalid_input', 'no items to score');
}

/** Contingency table: rows = clusters, columns = labels (both re-indexed from 0). */
export function contingency(labels: Labels, clusters: Labels): { table: number[][]; n: number } {
  check(labels, clusters);
  const labelIndex = new Map<number, number>();
  const clusterIndex = new Map<number, number>();
  for (let i = 0; i < labels.length; i++) {
    if (!labelIndex.has(labels[i]!)) labelIndex.set(labels[i]!, labelIndex.size);
    if (!clusterIndex.has(clusters[i]!)) clusterIndex.set(clusters[i]!, clusterIndex.size);
  }
  const table = Array.from({ length: clusterIndex.size }, () => new Array<number>(labelIndex.size).fill(0));
  for (let i = 0; i < labels.length; i++) table[clusterIndex.get(clusters[i]!)!]![labelIndex.get(labels[i]!)!]!++;
  return { table, n: labels.length };
}

/** Fraction of items whose cluster maps to their label under the best one-to-one mapping. */
export function clusteringAccuracy(labels: Labels, clusters: Labels): number {
  const { table, n } = contingency(labels, clusters);
  const { rowAssignments } = linearSumAssignment(table, { maximaze: true });
  let matched = 0;
  rowAssignments.forEach((column, row) => {
    if (column >= 0) matched += table[row]![column]!;
  });
  return matched / n;
}

const entropy = (counts: number[], n: number) => counts.reduce((h, c) => (c > 0 ? h - (c / n) * Math.log(c / n) : h), 0);

/** Normalised mutual information, MI / mean(H(labels), H(clusters)); 1 for identical partitions. */
export function normalizedMutualInfo(labels: Labels, clusters: Labels): number {
  const { table, n } = contingency(labels, clusters);
  const rows = table.map((r) => r.reduce((a, b) => a + b, 0));
  const cols = table[0]!.map((_, j) => table.reduce((a, r) => a + r[j]!, 0));
  let mi = 0;
  table.forEach((r, i) =>
    r.forEach((c, j) => {
      if (c > 0) mi += (c / n) * Math.log((n * c) / (rows[i]! * cols[j]!));
    }),
  );
  const hu = entropy(rows, n);
  const hv = entropy(cols, n);
  if (hu === 0 && hv === 0) return 1;
  return hu + hv === 0 ? 0 : mi / ((hu + hv) / 2);
}

/** Adjusted Rand index: 1 for identical partitions, about 0 for random ones. */
export function adjustedRandIndex(labels: Labels, clusters: Labels): number {
  const { table, n } = contingency(labels, clusters);
  const pairs = (x: number) => (x * (x - 1)) / 2;
  const sumCells = table.reduce((s, r) => s + r.reduce((t, c) => t + pairs(c), 0), 0);
  const sumRows = table.reduce((s, r) => s + pairs(r.reduce((a, b) => a + b, 0)), 0);
  const sumCols = table[0]!.reduce((s, _, j) => s + pairs(table.reduce((a, r) => a + r[j]!, 0)), 0);
  const expected = (sumRows * sumCols) / pairs(n);
  const max = (sumRows + sumCols) / 2;
  return max === expected ? 1 : (sumCells - expected) / (max - expected);
}

/** Mean fraction of each query's neighbours that share its label. */
export function precisionAtK(queryLabels: Labels, neighborLabels: readonly Labels[]): number {
  if (queryLabels.length !== neighborLabels.length || queryLabels.length === 0)
    throw new AppError('invalid_input', 'one neighbour list per query is needed');
  let total = 0;
  for (let q = 0; q < queryLabels.length; q++) {
    const neighbors = neighborLabels[q]!;
    let same = 0;
    for (let i = 0; i < neighbors.length; i++) if (neighbors[i] === queryLabels[q]) same++;
    total += neighbors.length ? same / neighbors.length : 0;
  }
  return total / queryLabels.length;
}
