import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../../lib/engine/tf';
import { binaryCrossEntropy, klDivergence, meanSquaredError, sparsityPenalty } from '../../../lib/models/losses';
import { startWasm } from '../../helpers/engine';

beforeAll(startWasm);

describe('sparsity: KL(ρ‖ρ̂) with ρ = 0.2', () => {
  it('is 0 at ρ̂ = ρ', () => {
    expect(klDivergence(0.2, 0.2)).toBe(0);
  });

  it('grows monotonically as ρ̂ moves away from ρ on either side', () => {
    const up = [0.2, 0.3, 0.5, 0.7, 0.9, 0.99].map((r) => klDivergence(0.2, r));
    const down = [0.2, 0.15, 0.1, 0.05, 0.01].map((r) => klDivergence(0.2, r));
    for (const series of [up, down]) {
      for (let i = 1; i < series.length; i++) expect(series[i]!).toBeGreaterThan(series[i - 1]!);
    }
  });

  it('the tensor penalty is β·Σⱼ KL(ρ‖mean activation of unit j)', () => {
    const code = tf.tensor2d([
      [0.1, 0.5],
      [0.3, 0.7],
    ]); // unit means 0.2 and 0.6
    const penalty = sparsityPenalty(code, 0.2, 3);
    expect(penalty.dataSync()[0]).toBeCloseTo(3 * (klDivergence(0.2, 0.2) + klDivergence(0.2, 0.6)), 5);
    tf.dispose([code, penalty]);
  });
});

describe('reconstruction losses', () => {
  it('MSE and BCE of a known pair', () => {
    const out = tf.tensor([0.5, 0.25]);
    const target = tf.tensor([1, 0]);
    expect(meanSquaredError(out, target).dataSync()[0]).toBeCloseTo((0.25 + 0.0625) / 2, 6);
    expect(binaryCrossEntropy(out, target).dataSync()[0]).toBeCloseTo(-(Math.log(0.5) + Math.log(0.75)) / 2, 5);
  });
});
