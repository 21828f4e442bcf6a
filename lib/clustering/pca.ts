/**
 * Principal component analysis: fitted with ml-pca on a sample (the covariance is dim × dim
 * whatever the sample), projected on the engine. The baseline the latent space must beat, and the
 * fast, exact 2-D map.
 */
import { PCA } from 'ml-pca';
import { AppError } from '../errors';
import { project } from '../engine/linear-algebra';
import { seededRandom } from '../random';

export interface PcaModel {
  dim: number;
  components: number;
  mean: Float32Array;
  /** dim × components, row-major. */ matrix: Float32Array;
  /** Variance of the data along each component, largest first. */
  variances: Float64Array;
}

export function fitPca(
  data: Float32Array,
  n: number,
  dim: number,
  components: number,
  options: { sample?: number; seed?: number } = {},
): PcaModel {
  if (!Number.isInteger(components) || components < 1 || components > dim)
    throw new AppError('invalid_input', `components must be an integer from 1 to ${dim}; got ${components}`);
  const random = seededRandom(options.seed ?? 0);
  const size = Math.min(n, options.sample ?? 10_000);
  const picked = new Set<number>();
  while (picked.size < size) picked.add(Math.floor(random() * n));
  const rows = [...picked].map((i) => Array.from(data.subarray(i * dim, (i + 1) * dim)));
  // Fewer samples than dimensions (a few hundred 64×64 X-rays): SVD of the data, not a dim × dim EVD.
  const pca = new PCA(rows, { center: true, scale: false, method: rows.length < dim ? 'SVD' : 'covarianceMatrix' });
  const vectors = pca.getEigenvectors(); // dim × r, columns sorted by explained variance
  if (vectors.columns < components)
    throw new AppError(
      'invalid_input',
      `PCA of ${rows.length} samples gives at most ${vectors.columns} components; asked for ${components}`,
    );
  const matrix = new Float32Array(dim * components);
  for (let r = 0; r < dim; r++) for (let c = 0; c < components; c++) matrix[r * components + c] = vectors.get(r, c);
  const variances = Float64Array.from(pca.getEigenvalues().slice(0, components), (v) => Math.max(v, 0));
  const mean = new Float32Array(dim);
  for (const row of rows) for (let j = 0; j < dim; j++) mean[j]! += row[j]! / rows.length;
  return { dim, components, mean, matrix, variances };
}

export function applyPca(model: PcaModel, data: Float32Array, n: number): Float32Array {
  return project(data, n, model.dim, model.mean, model.matrix, model.components);
}
