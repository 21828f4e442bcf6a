/**
 * The two-view losses: their values at known configurations (identical views reach the minimum,
 * a collapsed batch is penalised), and the whole two-view step's gradients on wasm (with the
 * project's fast kernels) against tfjs's plain cpu backend.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../../lib/engine/tf';
import { Autoencoder } from '../../../lib/models/autoencoder';
import { multiViewNtXentLoss, ntXentLoss, simSiamLoss, vicregLoss } from '../../../lib/models/contrastive';
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
