import { describe, expect, it } from 'vitest';
import { adjustedRandIndex, clusteringAccuracy, normalizedMutualInfo, precisionAtK } from '../../../lib/clustering/metrics';

const labels = [0, 0, 0, 1, 1, 1, 2, 2, 2];

describe('clustering metrics', () => {
  it('a perfect clustering scores 1, and so does any renaming of its clusters', () => {
    for (const clusters of [labels, [5, 5, 5, 9, 9, 9, 7, 7, 7], [2, 2, 2, 0, 0, 0, 1, 1, 1]]) {
      expect(clusteringAccuracy(labels, clusters)).toBe(1);
      expect(normalizedMutualInfo(labels, clusters)).toBeCloseTo(1, 12);
      expect(adjustedRandIndex(labels, clusters)).toBeCloseTo(1, 12);
    }
  });

  it('a known confusion gives its known accuracy, NMI and ARI', () => {
    // clusters × labels: [[2,1,0],[0,2,1],[1,0,2]] → best matching is the diagonal: 6 of 9.
    const clusters = [0, 0, 2, 0, 1, 1, 1, 2, 2];
    expect(clusteringAccuracy(labels, clusters)).toBeCloseTo(6 / 9, 12);
    // By hand: MI = 3·(2/9)·ln 2, H = ln 3 on both sides → NMI = (2/3)·ln 2 / ln 3.
    expect(normalizedMutualInfo(labels, clusters)).toBeCloseTo(((2 / 3) * Math.log(2)) / Math.log(3), 12);
    // Pairs: within cells 3, rows 9, columns 9, expected 9·9/36 = 2.25 → ARI = 0.75 / 6.75.
    expect(adjustedRandIndex(labels, clusters)).toBeCloseTo(0.75 / 6.75, 12);
  });

  it('more clusters than labels: unmatched clusters count as errors', () => {
    expect(clusteringAccuracy([0, 0, 1, 1], [0, 1, 2, 3])).toBe(0.5);
  });

  it('precision@k counts neighbours sharing the query label', () => {
    expect(
      precisionAtK(
        [1, 2],
        [
          [1, 1, 2, 1],
          [2, 0, 0, 0],
        ],
      ),
    ).toBeCloseTo((3 / 4 + 1 / 4) / 2, 12);
  });

  it('refuses mismatched lengths', () => {
    expect(() => clusteringAccuracy([0, 1], [0])).toThrow(/2 labels but 1/);
  });
});
