/**
 * The training driver on a one-variable objective (w pulled towards the values of the images it
 * sees): batches and progress, named loss parts, early stopping restoring the best epoch's weights,
 * a stop from the objective, resuming, cancellation, divergence, and nothing leaked.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { tf } from '../../../lib/engine/tf';
import { isAppError } from '../../../lib/errors';
import {
  fit,
  localRunner,
  type EpochRecord,
  type FitPlan,
  type Objective,
  type StepContext,
  type TrainHooks,
  type TrainProgress,
} from '../../../lib/training/fit';
import { startWasm } from '../../helpers/engine';

beforeAll(startWasm);

/** 20 training images of value 0 (indices 0..19) and 5 validation images of value 1 (20..24). */
const values = Float32Array.from({ length: 25 }, (_, i) => (i < 20 ? 0 : 1));
const plan: FitPlan = {
  phase: 'train',
  train: Int32Array.from({ length: 20 }, (_, i) => i),
  val: Int32Array.from({ length: 5 }, (_, i) => 20 + i),
  epochs: 4,
  batchSize: 8,
  seed: 7,
};

/** Squared distance of w from each image's value; reports it and the absolute distance as parts. */
function pullObjective(w: tf.Variable, seen: StepContext[] = [], extra: Partial<Objective> = {}): Objective {
  return {
    vars: [w],
    loss(ctx) {
      if (ctx.training) seen.push(ctx);
      const target = tf.tensor1d(Array.from(ctx.indices, (i) => values[i]!));
      const diff = tf.sub(w, target);
      const squared = tf.mean(tf.square(diff)) as tf.Scalar;
      return { total: squared, parts: { squared, absolute: tf.mean(tf.abs(diff)) as tf.Scalar } };
    },
    ...extra,
  };
}

async function run(w: tf.Variable, hooks: TrainHooks = {}, overrides: Partial<FitPlan> = {}, objective = pullObjective(w)) {
  const history: EpochRecord[] = [...(hooks.resume?.history ?? [])];
  const result = await fit(localRunner(objective, { learningRate: 0.05 }), { ...plan, ...overrides }, hooks, history);
  return { result, history };
}

describe('fit', () => {
  it('runs seeded batches with per-batch progress, named parts and epoch records, leaking nothing', async () => {
    const w = tf.variable(tf.scalar(1));
    const tensors = tf.memory().numTensors;
    const seen: StepContext[] = [];
    const progress: TrainProgress[] = [];
    const { result, history } = await run(w, { onProgress: (p) => progress.push(p) }, {}, pullObjective(w, seen));
    expect(tf.memory().numTensors).toBe(tensors);
    expect(history.map((h) => h.epoch)).toEqual([1, 2, 3, 4]);
    expect(result.steps).toBe(4 * 3);
    expect(seen.map((s) => s.step)).toEqual([...Array(12).keys()]);
    expect(seen.map((s) => s.indices.length)).toEqual(Array<number[]>(4).fill([8, 8, 4]).flat());
    // Every training image once per epoch, in a different order each epoch.
    const epoch1 = seen.slice(0, 3).flatMap((s) => [...s.indices]);
    const epoch2 = seen.slice(3, 6).flatMap((s) => [...s.indices]);
    expect([...epoch1].sort((a, b) => a - b)).toEqual([...plan.train]);
    expect(epoch2).not.toEqual(epoch1);
    expect(new Set(seen.map((s) => s.seed)).size).toBe(12);
    const batches = progress.filter((p) => !p.epochDone);
    expect(batches).toHaveLength(12);
    expect(batches.every((p) => p.imagesPerSec > 0 && p.parts!.squared === p.loss)).toBe(true);
    expect(progress.at(-1)).toMatchObject({ epochDone: true, epoch: 4, etaSeconds: 0 });
    // The epoch's parts are image-weighted means, like its loss.
    for (const h of history) expect(h.parts!.squared).toBeCloseTo(h.loss, 10);
    expect(w.dataSync()[0]!).toBeLessThan(0.9);
    // Validation (value 1) worsens as w moves to 0: the best epoch is the first.
    expect(result.bestEpoch).toBe(1);
    expect(result.stoppedEarly).toBe(false);
    w.dispose();
  });

  it("early stopping restores the best epoch's weights, not the last", async () => {
    const w = tf.variable(tf.scalar(1));
    const after: number[] = [];
    const { result, history } = await run(
      w,
      { onProgress: (p) => p.epochDone && after.push(w.dataSync()[0]!) },
      { epochs: 10, earlyStopping: { patience: 2, minDelta: 0 } },
    );
    expect(result.stoppedEarly).toBe(true);
    expect(history).toHaveLength(3);
    expect(result.bestEpoch).toBe(1);
    expect(after[2]).not.toBe(after[0]);
    expect(w.dataSync()[0]).toBe(after[0]);
    w.dispose();
  });

  it("stops where the objective's beforeStep says, recording the partial epoch", async () => {
    const w = tf.variable(tf.scalar(1));
    const objective = pullObjective(w, [], { beforeStep: (ctx) => ctx.step === 4 });
    const { result, history } = await run(w, {}, {}, objective);
    expect(result).toMatchObject({ stoppedEarly: true, steps: 4 });
    expect(history.map((h) => h.epoch)).toEqual([1, 2]);
    expect(history[1]!.imagesPerSec * history[1]!.seconds).toBeCloseTo(8, 6);
    w.dispose();
  });

  it('resumes at a later epoch with the same step numbers and seeds as an uninterrupted run', async () => {
    const w = tf.variable(tf.scalar(1));
    const full: StepContext[] = [];
    await run(w, {}, {}, pullObjective(w, full));
    const resumed: StepContext[] = [];
    const earlier: EpochRecord = { phase: 'train', epoch: 2, loss: 1, valLoss: 1, imagesPerSec: 1, seconds: 1 };
    const epochsEnded: number[] = [];
    const { history } = await run(
      w,
      { resume: { startEpoch: 3, history: [earlier] }, onEpochEnd: (epoch) => Promise.resolve(void epochsEnded.push(epoch)) },
      {},
      pullObjective(w, resumed),
    );
    expect(history.map((h) => h.epoch)).toEqual([2, 3, 4]);
    expect(epochsEnded).toEqual([3, 4]);
    expect(resumed.map((s) => [s.step, s.seed, [...s.indices]])).toEqual(full.slice(6).map((s) => [s.step, s.seed, [...s.indices]]));
    w.dispose();
  });

  it('cancels with a typed error and leaks nothing', async () => {
    const w = tf.variable(tf.scalar(1));
    const tensors = tf.memory().numTensors;
    const controller = new AbortController();
    const error = await run(w, { signal: controller.signal, onProgress: (p) => p.batch === 2 && controller.abort() }).catch(
      (e: unknown) => e,
    );
    expect(isAppError(error, 'cancelled')).toBe(true);
    expect(tf.memory().numTensors).toBe(tensors);
    w.dispose();
  });

  it('refuses a diverging loss with the epoch and batch', async () => {
    const w = tf.variable(tf.scalar(1));
    const objective = pullObjective(w, [], {});
    const nan: Objective = { ...objective, loss: (ctx) => ({ total: tf.mul(objective.loss(ctx).total, NaN) as tf.Scalar }) };
    const error = await run(w, {}, {}, nan).catch((e: unknown) => e);
    expect(isAppError(error, 'invalid_input')).toBe(true);
    expect((error as Error).message).toMatch(/training diverged \(loss NaN\) at epoch 1, batch 1/);
    w.dispose();
  });
});
