/**
 * The two-view losses: their values at known configurations (identical views reach the minimum,
 * a collapsed batch is penalised), and the whole two-view step's gradients on wasm (with the
 * project's fast kernels) against tfjs's plain cpu backend.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../../lib/engine/tf';
import { Autoencoder } from '../../../lib/models/autoencoder';
import {
  debiasedNtXentLoss,
  mixedNtXentLoss,
  multiViewNtXentLoss,
  neighbourLoss,
  ntXentLoss,
  simSiamLoss,
  vicregLoss,
} from '../../../lib/models/contrastive';
import type { ImageSet } from '../../../lib/data/image-set';
import { parseModelSpec } from '../../../lib/models/spec';
import { reconstructionObjective } from '../../../lib/models/train';
import type { StepContext } from '../../../lib/training/fit';
import { onBackend, relativeError, startWasm } from '../../helpers/engine';

beforeAll(startWasm);

const value = (t: tf.Scalar) => {
  const v = t.dataSync()[0]!;
  t.dispose();
  return v;
};

/** n unit vectors in R^n−1… embedded in `dim` dimensions as a regular simplex (pairwise cosine −1/(n−1)). */
function simplex(n: number, dim: number): number[][] {
  const centred = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 1 : 0) - 1 / n));
  const norm = Math.sqrt(centred[0]!.reduce((a, b) => a + b * b, 0));
  return centred.map((row) => [...row.map((v) => v / norm), ...new Array<number>(dim - n).fill(0)]);
}

function noisy(rows: number[][], scale: number, seed: number): number[][] {
  let s = seed;
  const random = () => ((s = (s * 16807) % 2147483647) / 2147483647) * 2 - 1;
  return rows.map((r) => r.map((v) => v + scale * random()));
}

describe('NT-Xent', () => {
  const n = 6;
  const tau = 0.5;
  it('identical views spread as a regular simplex give its closed-form minimum', () => {
    const z = tf.tensor2d(simplex(n, 8));
    const loss = value(ntXentLoss(z, z, tau));
    const c = -1 / (n - 1);
    const expected = -1 / tau + Math.log(Math.exp(1 / tau) + 2 * (n - 1) * Math.exp(c / tau));
    expect(loss).toBeCloseTo(expected, 4);
    for (let seed = 1; seed <= 5; seed++) {
      const other = tf.tensor2d(noisy(simplex(n, 8), 0.2, seed));
      expect(value(ntXentLoss(z, other, tau))).toBeGreaterThan(loss);
      other.dispose();
    }
    z.dispose();
  });

  it('a collapsed batch scores log(2N − 1), far above the minimum', () => {
    const z = tf.ones([n, 8]) as tf.Tensor2D;
    expect(value(ntXentLoss(z, z, tau))).toBeCloseTo(Math.log(2 * n - 1), 4);
    z.dispose();
  });
});

describe('debiased NT-Xent (DCL)', () => {
  const n = 6;
  const tau = 0.5;
  it('matches its formula on a hand-worked batch, is NT-Xent at prior 0, and charges less for near neighbours', () => {
    const a = tf.tensor2d(noisy(simplex(n, 8), 0.3, 3));
    const b = tf.tensor2d(noisy(simplex(n, 8), 0.3, 4));
    const prior = 0.2;
    // The same loss written out view by view in plain numbers.
    const rows = [...(a.arraySync() as number[][]), ...(b.arraySync() as number[][])].map((r) => {
      const norm = Math.sqrt(r.reduce((s, v) => s + v * v, 0) + 1e-8);
      return r.map((v) => v / norm);
    });
    const dot = (i: number, j: number) => rows[i]!.reduce((s, v, k) => s + v * rows[j]![k]!, 0);
    let expected = 0;
    for (let i = 0; i < 2 * n; i++) {
      const partner = (i + n) % (2 * n);
      const pos = Math.exp(dot(i, partner) / tau);
      let negatives = 0;
      for (let j = 0; j < 2 * n; j++) if (j !== i && j !== partner) negatives += Math.exp(dot(i, j) / tau);
      const g = Math.max((negatives / (2 * n - 2) - prior * pos) / (1 - prior), Math.exp(-1 / tau));
      expected += -Math.log(pos / (pos + (2 * n - 2) * g)) / (2 * n);
    }
    expect(value(debiasedNtXentLoss(a, b, tau, prior))).toBeCloseTo(expected, 4);
    expect(value(debiasedNtXentLoss(a, b, tau, 0))).toBeCloseTo(value(ntXentLoss(a, b, tau)), 6);
    expect(value(debiasedNtXentLoss(a, b, tau, prior))).toBeLessThan(value(ntXentLoss(a, b, tau)));
    tf.dispose([a, b]);
  });

  it('still penalises a collapsed batch above well-spread identical views, and refuses a prior outside [0, 1)', () => {
    const spread = tf.tensor2d(simplex(n, 8));
    const collapsed = tf.ones([n, 8]) as tf.Tensor2D;
    expect(value(debiasedNtXentLoss(collapsed, collapsed, tau, 0.1))).toBeGreaterThan(
      value(debiasedNtXentLoss(spread, spread, tau, 0.1)) + 0.5,
    );
    expect(() => debiasedNtXentLoss(spread, spread, tau, 1)).toThrow(/prior/);
    const before = tf.memory().numTensors;
    value(debiasedNtXentLoss(spread, spread, tau, 0.1));
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([spread, collapsed]);
  });
});

describe('nearest-neighbour positives (NNCLR)', () => {
  const n = 5;
  const tau = 0.3;
  const unit = (r: number[]) => {
    const norm = Math.sqrt(r.reduce((s, v) => s + v * v, 0) + 1e-8);
    return r.map((v) => v / norm);
  };
  const dot = (a: number[], b: number[]) => a.reduce((s, v, k) => s + v * b[k]!, 0);

  it('matches its formula: each view stands in as its nearest other support row', () => {
    const z1 = noisy(simplex(n, 7), 0.4, 11);
    const z2 = noisy(simplex(n, 7), 0.4, 12);
    const support = noisy(simplex(n, 7), 0.6, 13);
    const s = support.map(unit);
    const direction = (anchors: number[][], others: number[][]) => {
      let total = 0;
      anchors.forEach((anchor, i) => {
        const a = unit(anchor);
        let nearest = -1;
        for (let j = 0; j < n; j++) if (j !== i && (nearest < 0 || dot(a, s[j]!) > dot(a, s[nearest]!))) nearest = j;
        const logits = others.map((o) => dot(s[nearest]!, unit(o)) / tau);
        const max = Math.max(...logits);
        total += -(logits[i]! - max - Math.log(logits.reduce((acc, l) => acc + Math.exp(l - max), 0)));
      });
      return total / n;
    };
    const expected = 0.5 * (direction(z1, z2) + direction(z2, z1));
    const [a, b, c] = [tf.tensor2d(z1), tf.tensor2d(z2), tf.tensor2d(support)];
    expect(value(neighbourLoss(a, b, c, tau))).toBeCloseTo(expected, 4);
    tf.dispose([a, b, c]);
  });

  it('is about log 2 when the nearest other image is a twin of the view, chance (log N) when no image resembles it', () => {
    // Images 2k and 2k+1 are twins (one kind): a view's nearest other image is its twin, and the
    // twin's row then points at two of the N other views equally.
    const kinds = simplex(3, 6);
    const rows = [0, 0, 1, 1, 2, 2].map((k) => kinds[k]!);
    const views = tf.tensor2d(noisy(rows, 0.02, 21));
    const others = tf.tensor2d(noisy(rows, 0.02, 22));
    const twins = tf.tensor2d(noisy(rows, 0.02, 23));
    // Support rows orthogonal to every view: whichever is nearest says nothing about the view.
    const strangers = tf.tensor2d(rows.map((_, j) => Array.from({ length: 6 }, (_, k) => (k === 3 + (j % 3) ? 1 : 0))));
    expect(value(neighbourLoss(views, others, twins, tau))).toBeCloseTo(Math.log(2), 1);
    expect(value(neighbourLoss(views, others, strangers, tau))).toBeCloseTo(Math.log(6), 1);
    tf.dispose([views, others, twins, strangers]);
  });

  it('sends no gradient into the support and leaks no tensors', () => {
    const z = tf.variable(tf.tensor2d(noisy(simplex(n, 7), 0.3, 31)));
    const support = tf.variable(tf.tensor2d(noisy(simplex(n, 7), 0.3, 32)));
    const before = tf.memory().numTensors;
    const { value: loss, grads } = tf.variableGrads(
      () => neighbourLoss(z as unknown as tf.Tensor2D, tf.mul(z, 0.9) as tf.Tensor2D, support as unknown as tf.Tensor2D, tau),
      [z, support],
    );
    const largest = (g: tf.Tensor) => tf.tidy(() => g.abs().max().dataSync()[0]!);
    expect(largest(grads[support.name]!)).toBe(0);
    expect(largest(grads[z.name]!)).toBeGreaterThan(0);
    tf.dispose([loss, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([z, support]);
  });
});

describe('i-Mix loss', () => {
  const n = 5;
  const tau = 0.3;
  it('matches its formula, and knows which two images a mixed view came from', () => {
    const z2rows = noisy(simplex(n, 7), 0.1, 41);
    const weights = Float32Array.from([0.9, 0.3, 0.5, 1, 0.6]);
    const partners = Int32Array.from([1, 2, 0, 3, 3]);
    // A mixed view's code: the weighted blend of its two images' codes.
    const mixedRows = z2rows.map((row, k) => row.map((v, d) => weights[k]! * v + (1 - weights[k]!) * z2rows[partners[k]!]![d]!));
    const unit = (r: number[]) => {
      const norm = Math.sqrt(r.reduce((s, v) => s + v * v, 0) + 1e-8);
      return r.map((v) => v / norm);
    };
    let expected = 0;
    mixedRows.forEach((row, k) => {
      const logits = z2rows.map((o) => unit(row).reduce((s, v, d) => s + v * unit(o)[d]!, 0) / tau);
      const logSum = Math.log(logits.reduce((acc, l) => acc + Math.exp(l), 0));
      expected -= (weights[k]! * (logits[k]! - logSum) + (1 - weights[k]!) * (logits[partners[k]!]! - logSum)) / n;
    });
    const [mixed, z2] = [tf.tensor2d(mixedRows), tf.tensor2d(z2rows)];
    const right = value(mixedNtXentLoss(mixed, z2, weights, partners, tau));
    expect(right).toBeCloseTo(expected, 4);
    // The same views credited to the wrong partners cost more.
    const wrong = value(mixedNtXentLoss(mixed, z2, weights, Int32Array.from([4, 0, 1, 3, 2]), tau));
    expect(wrong).toBeGreaterThan(right + 0.3);
    expect(() => mixedNtXentLoss(mixed, z2, weights.subarray(0, 2), partners, tau)).toThrow(/a weight and a partner per view/);
    tf.dispose([mixed, z2]);
  });
});

describe('multi-view NT-Xent (multi-crop)', () => {
  const n = 5;
  const tau = 0.3;
  it('with two views it is NT-Xent exactly', () => {
    const a = tf.tensor2d(noisy(simplex(n, 7), 0.3, 1));
    const b = tf.tensor2d(noisy(simplex(n, 7), 0.3, 2));
    expect(value(multiViewNtXentLoss([a, b], tau))).toBeCloseTo(value(ntXentLoss(a, b, tau)), 5);
    tf.dispose([a, b]);
  });

  it('small crops that agree with their image lower it; crops of the wrong image raise it; collapse scores log(Vn − 1)', () => {
    const z = tf.tensor2d(simplex(n, 8));
    const global = tf.tensor2d(noisy(simplex(n, 8), 0.2, 4));
    const agreeing = tf.tensor2d(noisy(simplex(n, 8), 0.1, 5));
    // The same crops handed to the wrong images: each image's crop is its neighbour's.
    const rows = noisy(simplex(n, 8), 0.1, 5);
    const swapped = tf.tensor2d(rows.map((_, i) => rows[(i + 1) % n]!));
    const good = value(multiViewNtXentLoss([z, global, agreeing, agreeing], tau, 2));
    const bad = value(multiViewNtXentLoss([z, global, swapped, swapped], tau, 2));
    expect(bad).toBeGreaterThan(good + 1);
    const one = tf.ones([n, 8]) as tf.Tensor2D;
    expect(value(multiViewNtXentLoss([one, one, one, one], tau, 2))).toBeCloseTo(Math.log(4 * n - 1), 4);
    tf.dispose([z, global, agreeing, swapped, one]);
  });

  it('two small crops are not positives of each other (DINO): moving one small crop away from the other alone changes nothing', () => {
    // Anchors: the small crops see only the globals as positives; the globals see both crops.
    // Swapping which small crop is which leaves the loss unchanged when globals == 2.
    const g1 = tf.tensor2d(noisy(simplex(n, 8), 0.2, 6));
    const g2 = tf.tensor2d(noisy(simplex(n, 8), 0.2, 7));
    const s1 = tf.tensor2d(noisy(simplex(n, 8), 0.4, 8));
    const s2 = tf.tensor2d(noisy(simplex(n, 8), 0.4, 9));
    expect(value(multiViewNtXentLoss([g1, g2, s1, s2], tau, 2))).toBeCloseTo(value(multiViewNtXentLoss([g1, g2, s2, s1], tau, 2)), 5);
    // With every view global (SupCon), the small crops' own pairing counts, and the loss differs from DINO's rule.
    expect(value(multiViewNtXentLoss([g1, g2, s1, s2], tau))).not.toBeCloseTo(value(multiViewNtXentLoss([g1, g2, s1, s2], tau, 2)), 3);
    tf.dispose([g1, g2, s1, s2]);
  });
});

describe('VICReg', () => {
  it('identical, decorrelated views with unit spread cost nothing; a collapsed batch pays the variance hinge', () => {
    // ±√n·e_j rows: each dimension has std ≥ 1, covariances 0.
    const rows = [
      [2, 0],
      [-2, 0],
      [0, 2],
      [0, -2],
    ];
    const z = tf.tensor2d(rows);
    expect(value(vicregLoss(z, z))).toBeCloseTo(0, 6);
    const collapsed = tf.zeros([4, 2]) as tf.Tensor2D;
    // Hinge: std ≈ √1e-4 → (1 − 0.01) per dimension, twice (both views), weight 25.
    expect(value(vicregLoss(collapsed, collapsed))).toBeCloseTo(25 * 2 * 0.99, 3);
    const shifted = tf.tensor2d(noisy(rows, 0.3, 3));
    expect(value(vicregLoss(z, shifted))).toBeGreaterThan(0);
    tf.dispose([z, collapsed, shifted]);
  });
});

describe('SimSiam', () => {
  it('reaches −1 when predictions point along the other view', () => {
    const z = tf.tensor2d(noisy(simplex(4, 5), 0.1, 9));
    expect(value(simSiamLoss(z, z, z, z))).toBeCloseTo(-1, 5);
    z.dispose();
  });
});

/** Two 12×12 RGB images per class, three classes: smooth colour blobs. */
function tinySet(count: number): ImageSet {
  const h = 12;
  const pixels = new Uint8Array(count * h * h * 3);
  for (let i = 0; i < pixels.length; i++) pixels[i] = (Math.sin(i * 0.37 + (i % 7)) * 0.5 + 0.5) * 255;
  return { pixels, count, height: h, width: h, channels: 3 };
}

describe('the two-view step on wasm matches the cpu backend', () => {
  for (const loss of ['ntxent', 'vicreg', 'simsiam'] as const) {
    for (const extra of [
      {},
      { norm: 'group', pool: 'average' },
      ...(loss === 'ntxent' ? [{ norm: 'group', pool: 'average', localCrops: { count: 2, size: 6 } }] : []),
    ] as const) {
      it(`${loss} ${JSON.stringify(extra)}: loss and every gradient`, async () => {
        const spec = parseModelSpec({
          arch: 'conv',
          inputShape: [12, 12, 3],
          latentSize: 8,
          filters: [8, 16],
          ...('norm' in extra ? { norm: extra.norm, pool: extra.pool } : {}),
          contrastive: {
            loss,
            weight: 1,
            temperature: 0.2,
            projection: [16, 8],
            ...('localCrops' in extra ? { localCrops: extra.localCrops } : {}),
          },
        });
        const set = tinySet(6);
        const ctx: StepContext = {
          indices: Int32Array.from([0, 1, 2, 3, 4, 5]),
          epoch: 1,
          step: 0,
          progress: 0,
          seed: 7,
          stream: 0,
          offset: 0,
          training: true,
        };
        const run = () => {
          const model = Autoencoder.create(spec);
          try {
            const objective = reconstructionObjective(model, set);
            return tf.tidy(() => {
              const { value: v, grads } = tf.variableGrads(() => objective.loss(ctx).total, [...objective.vars]);
              return { loss: v.dataSync()[0]!, grads: objective.vars.map((x) => grads[x.name]!.dataSync().slice()) };
            });
          } finally {
            model.dispose();
          }
        };
        const cpu = await onBackend('cpu', run);
        const wasm = await onBackend('wasm', run);
        expect(wasm.loss).toBeCloseTo(cpu.loss, 4);
        cpu.grads.forEach((g, i) => expect(relativeError(wasm.grads[i]!, g)).toBeLessThan(1e-3));
      });
    }
  }
});
