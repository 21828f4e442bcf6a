/**
 * Balanced k-means: where plain k-means merges two dense groups to split a wide one, equal
 * cluster masses recover the three groups; the plan's rows are distributions and its columns
 * carry equal mass.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { balancedKmeans } from '../../../lib/clustering/balanced-kmeans';
import { kmeans } from '../../../lib/clustering/kmeans';
import { adjustedRandIndex } from '../../../lib/clustering/metrics';
import { startWasm } from '../../helpers/engine';

beforeAll(startWasm);

// Three groups of four on a line: two dense ones at 0 and 2, a wide one at 6 and 12.
const data = Float32Array.from([0, 0.01, 0.02, 0.03, 2, 2.01, 2.02, 2.03, 6, 6.1, 12, 12.1]);
const truth = Int32Array.from([0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2]);

describe('balancedKmeans', () => {
  it('keeps two dense groups apart where plain k-means merges them to split the wide one', () => {
    const plain = kmeans(data, 12, 1, { k: 3, seed: 0, restarts: 3 });
    expect(Array.from(plain.sizes).sort((a, b) => a - b)).toEqual([2, 2, 8]);
    const balanced = balancedKmeans(data, 12, 1, { k: 3, seed: 0, restarts: 3, temperature: 0.05 });
    expect(adjustedRandIndex(truth, balanced.assignments)).toBe(1);
  });

  it('returns a plan whose rows are distributions and whose clusters carry equal mass', () => {
    const { plan, centroids } = balancedKmeans(data, 12, 1, { k: 3, seed: 0, temperature: 0.05 });
    for (let i = 0; i < 12; i++) expect(plan[i * 3]! + plan[i * 3 + 1]! + plan[i * 3 + 2]!).toBeCloseTo(1, 5);
    for (let c = 0; c < 3; c++) expect(plan.filter((_, j) => j % 3 === c).reduce((a, b) => a + b, 0)).toBeCloseTo(4, 1);
    // Plan-weighted means: each group's mean, give or take the soft plan's leakage.
    expect(Array.from(centroids).sort((a, b) => a - b)).toEqual([
      expect.closeTo(0.015, 0),
      expect.closeTo(2.015, 0),
      expect.closeTo(9.05, 0),
    ]);
  });
});
