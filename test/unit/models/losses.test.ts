import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../../lib/engine/tf';
import { targetFromAssignments } from '../../../lib/models/cluster-finetune';
import {
  binaryCrossEntropy,
  clusteringKl,
  klDivergence,
  meanSquaredError,
  scatterRatio,
  softAssignments,
  sparsityPenalty,
  targetDistribution,
} from '../../../lib/models/losses';
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

describe('DEC: soft assignments, target distribution, KL(P‖Q)', () => {
  // Codes (0,0) and (3,4), centres (0,0) and (3,0): squared distances [0, 9] and [25, 16].
  const codes = [
    [0, 0],
    [3, 4],
  ];
  const centers = [
    [0, 0],
    [3, 0],
  ];
  // q ∝ 1/(1+d²): row 0 ∝ [1, 1/10], row 1 ∝ [1/26, 1/17].
  const q = [
    [10 / 11, 1 / 11],
    [17 / 43, 26 / 43],
  ];
  // p ∝ q²/f with f = column sums of q (computed by hand with numpy).
  const p = [
    [0.98159143, 0.01840857],
    [0.18564235, 0.81435765],
  ];

  it('q is the row-normalised Student-t kernel of the distances to the centres', () => {
    const tensorsBefore = tf.memory().numTensors;
    const [z, mu] = [tf.tensor2d(codes), tf.tensor2d(centers)];
    const got = softAssignments(z, mu);
    expect(got.shape).toEqual([2, 2]);
    Array.from(got.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(q.flat()[i]!, 6));
    tf.dispose([z, mu, got]);
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });

  it('p sharpens q and favours the smaller cluster; tensor and plain versions agree', () => {
    const qt = tf.tensor2d(q);
    const pt = targetDistribution(qt);
    Array.from(pt.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(p.flat()[i]!, 5));
    Array.from(targetFromAssignments(Float32Array.from(q.flat()), 2)).forEach((v, i) => expect(v).toBeCloseTo(p.flat()[i]!, 5));
    tf.dispose([qt, pt]);
  });

  it('KL(P‖Q) is the row mean of Σ p log(p/q), 0 when P = Q', () => {
    const [pt, qt] = [tf.tensor2d(p), tf.tensor2d(q)];
    const kl = clusteringKl(pt, qt);
    const same = clusteringKl(qt, qt);
    expect(kl.dataSync()[0]).toBeCloseTo(0.0740279529, 5);
    expect(same.dataSync()[0]).toBeCloseTo(0, 6);
    tf.dispose([pt, qt, kl, same]);
  });
});

describe('self-labelling: scatter of the labelled codes around their centres over the total', () => {
  // Two pseudo-clusters on a line; the code at 12 carries no label.
  const codes = [0, 0, 2, 0, 10, 0, 12, 0];
  const centers = [1, 0, 11, 0];
  const p = [1, 0, 1, 0, 0, 1, 0, 0];

  it('is the labelled codes’ mean squared distance to their centre over the batch variance, whatever the scale', () => {
    const ratio = (scale: number) =>
      tf.tidy(
        () =>
          scatterRatio(
            tf.tensor2d(
              codes.map((v) => v * scale),
              [4, 2],
            ),
            tf.tensor2d(
              centers.map((v) => v * scale),
              [2, 2],
            ),
            tf.tensor2d(p, [4, 2]),
          ).dataSync()[0]!,
      );
    // Within: (1 + 1 + 1) / 3; total: mean of 36, 16, 16, 36 around (6, 0).
    expect(ratio(1)).toBeCloseTo(1 / 26, 6);
    expect(ratio(0.01)).toBeCloseTo(1 / 26, 5);
  });

  it('moves each centre towards the mean of its labelled codes only', () => {
    const before = tf.memory().numTensors;
    const grads = tf.tidy(() => {
      const g = tf.grad((mu: tf.Tensor) => scatterRatio(tf.tensor2d(codes, [4, 2]), mu, tf.tensor2d(p, [4, 2])))(
        tf.tensor2d(centers, [2, 2]),
      );
      return Array.from(g.dataSync());
    });
    // Centre 0 sits at the mean of its codes (0 and 2); centre 1 at 11 is pulled back to 10, the
    // unlabelled 12 not counted: d/dμ₁ = 2·(11 − 10) / 3 / 26.
    expect(grads[0]).toBeCloseTo(0, 6);
    expect(grads[2]).toBeCloseTo(2 / 78, 6);
    expect(grads[3]).toBeCloseTo(0, 6);
    expect(tf.memory().numTensors).toBe(before);
  });
});
