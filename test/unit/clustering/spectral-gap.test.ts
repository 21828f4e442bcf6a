/**
 * The eigengap choice of k: the eigenvalue solver against closed forms, and the planted number of
 * separated blobs found again where the silhouette's maximum is not forced to it.
 */
import { describe, expect, it } from 'vitest';
import { eigengapK, graphSpectrum, symmetricEigenvalues } from '../../../lib/clustering/spectral-gap';
import { pairwiseSquaredDistances } from '../../../lib/engine/linear-algebra';
import { seededRandom } from '../../../lib/random';

describe('symmetricEigenvalues', () => {
  it('finds the eigenvalues of a cycle graph’s adjacency, 2 cos(2πj/n)', () => {
    const n = 12;
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) {
      a[i * n + ((i + 1) % n)] = 1;
      a[((i + 1) % n) * n + i] = 1;
    }
    const got = [...symmetricEigenvalues(a, n)].sort((x, y) => x - y);
    const expected = Array.from({ length: n }, (_, j) => 2 * Math.cos((2 * Math.PI * j) / n)).sort((x, y) => x - y);
    got.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 9));
  });

  it('keeps the trace and the sum of squares of a random symmetric matrix', () => {
    const n = 30;
    const random = seededRandom(3);
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = random() * 2 - 1;
    let trace = 0;
    let frobenius = 0;
    for (let i = 0; i < n; i++) trace += a[i * n + i]!;
    for (const v of a) frobenius += v * v;
    const eigen = symmetricEigenvalues(Float64Array.from(a), n);
    expect(eigen.reduce((s, v) => s + v, 0)).toBeCloseTo(trace, 9);
    expect(eigen.reduce((s, v) => s + v * v, 0)).toBeCloseTo(frobenius, 8);
  });
});

/** `k` Gaussian blobs of `per` points in `dim` dimensions, centres `spread` apart on average. */
function blobs(k: number, per: number, dim: number, spread: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const centres = Array.from({ length: k }, () => Array.from({ length: dim }, () => gauss() * spread));
  const data = new Float32Array(k * per * dim);
  for (let c = 0; c < k; c++)
    for (let p = 0; p < per; p++) for (let d = 0; d < dim; d++) data[(c * per + p) * dim + d] = centres[c]![d]! + gauss();
  return data;
}

describe('eigengapK', () => {
  for (const planted of [3, 5, 8]) {
    it(`finds ${planted} separated blobs in 2..20`, () => {
      const per = 20;
      const n = planted * per;
      const data = blobs(planted, per, 16, 4, planted);
      const spectrum = graphSpectrum(pairwiseSquaredDistances(data, n, 16), n, 22);
      expect(spectrum[0]).toBeCloseTo(0, 6);
      expect(eigengapK(spectrum, [2, 20])).toBe(planted);
    });
  }

  it('reads the gap at the range: the largest gap inside [lo, hi] wins', () => {
    const spectrum = [0, 0.01, 0.02, 0.5, 0.55, 0.6, 0.61, 0.9];
    expect(eigengapK(spectrum, [2, 6])).toBe(3);
    expect(eigengapK(spectrum, [4, 7])).toBe(7);
  });
});
