import { beforeAll, describe, expect, it } from 'vitest';
import { kmeans, sampledKMeans } from '../../../lib/clustering/kmeans';
import { adjustedRandIndex } from '../../../lib/clustering/metrics';
import { tf } from '../../../lib/engine/tf';
import { invalidInputMessage } from '../../helpers/errors';
import { seededRandom } from '../../../lib/random';
import { startWasm } from '../../helpers/engine';

beforeAll(startWasm);

/** n points around `centres` (row-major), with their true groups. */
function blobs(centres: number[][], perGroup: number, spread: number, seed = 3) {
  const random = seededRandom(seed);
  const dim = centres[0]!.length;
  const data = new Float32Array(centres.length * perGroup * dim);
  const truth = new Int32Array(centres.length * perGroup);
  let i = 0;
  centres.forEach((c, g) => {
    for (let p = 0; p < perGroup; p++, i++) {
      truth[i] = g;
      for (let j = 0; j < dim; j++) data[i * dim + j] = c[j]! + (random() - 0.5) * spread;
    }
  });
  return { data, truth, n: truth.length, dim };
}

describe('kmeans', () => {
  it('finds well-separated groups exactly, with sizes, centroids and inertia', () => {
    const { data, truth, n, dim } = blobs(
      [
        [0, 0],
        [10, 0],
        [0, 10],
        [10, 10],
      ],
      50,
      1,
    );
    const result = kmeans(data, n, dim, { k: 4, seed: 1 });
    expect(adjustedRandIndex(truth, result.assignments)).toBe(1);
    expect([...result.sizes].sort()).toEqual([50, 50, 50, 50]);
    const centre = [...Array(4).keys()].map((c) => [result.centroids[c * 2]!, result.centroids[c * 2 + 1]!].map(Math.round).join(','));
    expect(centre.sort()).toEqual(['0,0', '0,10', '10,0', '10,10']);
    const inertia = result.distances.reduce((a, b) => a + b, 0);
    expect(result.inertia).toBeCloseTo(inertia, 3);
    expect(result.inertia / n).toBeLessThan(0.25);
  });

  it('large sets take the engine k-means++ path and still find the groups', () => {
    const { data, truth, n, dim } = blobs(
      [
        [0, 0, 0],
        [12, 0, 0],
        [0, 12, 0],
        [0, 0, 12],
      ],
      1600,
      2,
    );
    expect(n).toBeGreaterThan(5000);
    const result = kmeans(data, n, dim, { k: 4, seed: 3, restarts: 1 });
    expect(adjustedRandIndex(truth, result.assignments)).toBe(1);
  });

  it('a point and its own cluster: k = n gives zero inertia', () => {
    const data = Float32Array.from([1, 1, 5, 5, 9, 9]);
    const result = kmeans(data, 3, 2, { k: 3, seed: 2 });
    expect(result.inertia).toBeCloseTo(0, 6);
    expect(new Set(result.assignments).size).toBe(3);
  });

  it('is repeatable with a seed and leaks no tensors', () => {
    const { data, n, dim } = blobs(
      [
        [0, 0, 0],
        [4, 4, 4],
        [8, 0, 8],
      ],
      100,
      6,
    );
    const before = tf.memory().numTensors;
    const a = kmeans(data, n, dim, { k: 3, seed: 5 });
    const b = kmeans(data, n, dim, { k: 3, seed: 5 });
    expect(b.assignments).toEqual(a.assignments);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('refuses k ≤ 0, k > n, non-integer k and NaN vectors with clear errors', () => {
    const data = Float32Array.from([0, 0, 1, 1, 2, 2]);
    const message = invalidInputMessage;
    expect(message(() => kmeans(data, 3, 2, { k: 0 }))).toMatch(/positive integer; got 0/);
    expect(message(() => kmeans(data, 3, 2, { k: -1 }))).toMatch(/got -1/);
    expect(message(() => kmeans(data, 3, 2, { k: 1.5 }))).toMatch(/got 1.5/);
    expect(message(() => kmeans(data, 3, 2, { k: 4 }))).toMatch(/k = 4 is larger than the number of vectors \(3\)/);
    expect(message(() => kmeans(Float32Array.from([0, 0, Number.NaN, 1]), 2, 2, { k: 1 }))).toMatch(/vector 1 has a non-finite value/);
  });
});

describe('sampledKMeans', () => {
  const centres = [
    [0, 0, 0],
    [12, 0, 0],
    [0, 12, 0],
    [0, 0, 12],
    [12, 12, 12],
  ];

  it('fits on a sample and assigns every point: the same groups as k-means on all, with whole-set sizes and inertia', () => {
    const { data, truth, n, dim } = blobs(centres, 800, 4, 9);
    const before = tf.memory().numTensors;
    const result = sampledKMeans(data, n, dim, { k: 5, seed: 2, sample: 300 });
    expect(tf.memory().numTensors).toBe(before);
    expect(result.assignments.length).toBe(n);
    expect(adjustedRandIndex(truth, result.assignments)).toBe(1);
    expect(adjustedRandIndex(kmeans(data, n, dim, { k: 5, seed: 2 }).assignments, result.assignments)).toBe(1);
    expect([...result.sizes].reduce((a, b) => a + b, 0)).toBe(n);
    expect([...result.sizes].sort()).toEqual([800, 800, 800, 800, 800]);
    let inertia = 0;
    for (let i = 0; i < n; i++) {
      // Each point's distance is to its own centroid, and no centroid is nearer.
      const own = result.assignments[i]!;
      const d = (c: number) => {
        let s = 0;
        for (let j = 0; j < dim; j++) s += (data[i * dim + j]! - result.centroids[c * dim + j]!) ** 2;
        return s;
      };
      expect(result.distances[i]).toBeCloseTo(d(own), 3);
      for (let c = 0; c < 5; c++) expect(d(own)).toBeLessThanOrEqual(d(c) + 1e-4);
      inertia += result.distances[i]!;
    }
    expect(result.inertia).toBeCloseTo(inertia, 1);
  });

  it('is plain k-means when the set is no larger than the sample, and releases its tensors', () => {
    const { data, n, dim } = blobs(centres, 40, 4, 4);
    const before = tf.memory().numTensors;
    const sampled = sampledKMeans(data, n, dim, { k: 5, seed: 1, sample: n });
    expect(tf.memory().numTensors).toBe(before);
    expect(sampled.assignments).toEqual(kmeans(data, n, dim, { k: 5, seed: 1 }).assignments);
    expect(() => sampledKMeans(data, n, dim, { k: 5, sample: 0 })).toThrow(/sample must be a positive integer/);
  });
});
