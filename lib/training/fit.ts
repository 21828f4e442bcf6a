/**
 * The one training driver. Every trainable model (the autoencoders, their stacked pretraining and
 * classifier, the clustering fine-tune, segmentation) and the data-parallel worker pool run their
 * epochs through `fit`: a seeded shuffle of the training indices each epoch, mini-batches,
 * cancellation through an AbortSignal, per-batch progress with images/s and ETA, validation per
 * epoch, early stopping that restores the best epoch's weights, resuming after a checkpoint and a
 * hook after each epoch (to save one). It knows nothing about autoencoders: what a step computes
 * is the caller's.
 *
 * ## Where an objective plugs in
 * An `Objective` is what one step computes: given a `StepContext` (the batch's image indices,
 * epoch, step number, a per-step seed, which replica), it returns the loss — a total and,
 * optionally, named parts (e.g. `{ reconstruction, contrastive }`), which the driver averages into
 * the progress events and epoch records. The objective owns its data (it builds its batch tensors
 * from the indices: augmented views, masks, labels) and its variables. Optional hooks: `beforeStep`
 * (true stops the run: the clustering fine-tune's settled assignments), `afterStep` (batch norm's
 * moving statistics), `state` (what it reports after the run).
 *
 * A `StepRunner` is where steps execute: `localRunner` applies Adam in this thread; the worker
 * pool's runner (`lib/engine/parallel/worker-pool.ts`) sends each step's indices to the worker replicas,
 * which compute gradients on their shares and sum them. Worker replicas cannot receive closures,
 * so an objective that must also run in the pool is registered by name in
 * `lib/models/objectives.ts` and built there from serialisable data (the model spec, the train
 * options and a small `ObjectiveSpec`); a new objective added there runs in both places.
 * Randomness inside a step (noise, augmentation) should come from `ctx.seed` (and, to be the same
 * however the batch is sharded, `ctx.offset` + the image's position in `ctx.indices`), never from
 * a generator carried between steps, so a worker replica draws what this thread would.
 */
import { AppError } from '../errors';
import { tf } from '../engine/tf';
import { shuffledIndices } from '../random';

export interface TrainProgress {
  phase: 'train' | 'pretrain' | 'finetune' | 'cluster';
  /** For the stacked AE's pretraining: which layer (0-based). */
  layer?: number;
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
  loss: number;
  /** Named parts of `loss`, when the objective reports them. */
  parts?: Record<string, number>;
  valLoss: number | null;
  imagesPerSec: number;
  etaSeconds: number;
  /** Set on the event that closes an epoch (after validation). */
  epochDone?: true;
}

export interface EpochRecord {
  phase: TrainProgress['phase'];
  epoch: number;
  loss: number;
  /** Named parts of `loss` (means over the epoch), when the objective reports them. */
  parts?: Record<string, number>;
  valLoss: number | null;
  imagesPerSec: number;
  seconds: number;
}

export interface TrainHooks {
  onProgress?: (progress: TrainProgress) => void;
  signal?: AbortSignal;
  /** Resume after a checkpoint: the first epoch to run (1-based) and the epochs already done. */
  resume?: { startEpoch: number; history: EpochRecord[] };
  /** After each completed epoch, with the weights in the model (to save a checkpoint). */
  onEpochEnd?: (epoch: number, history: readonly EpochRecord[]) => Promise<void>;
}

/** What one step sees. Built by the driver; a worker replica gets its share of `indices`. */
export interface StepContext {
  /** Positions in the data set of the images this step (or this replica's share of it) trains on. */
  indices: Int32Array;
  /** 1-based epoch (0 when evaluating). */
  epoch: number;
  /** 0-based step of the run, counted over all epochs as if from epoch 1 (-1 when evaluating). */
  step: number;
  /** Fraction of the run's steps done before this one, in [0, 1) (for learning-rate schedules). */
  progress: number;
  /** Seed of this step's randomness, from the run's seed and `step` (see `stepSeed`). */
  seed: number;
  /** The replica computing it: 0 in this thread, the worker's index in the pool. */
  stream: number;
  /** Position of `indices[0]` in the whole batch (0 in this thread; where a worker's share starts). */
  offset: number;
  /** False when measuring validation loss: no noise, augmentation or batch-norm updates. */
  training: boolean;
}

/** A step's loss: the scalar to minimise and, optionally, named parts of it (to report, not to train on). */
export interface StepLoss {
  total: tf.Scalar;
  parts?: Record<string, tf.Scalar>;
}

/** What one training step computes; see the module header. */
export interface Objective {
  /** The variables a step trains. */
  readonly vars: readonly tf.Variable[];
  /** The loss of the images `ctx.indices` (called inside tf.tidy, under the gradient tape when training). */
  loss(ctx: StepContext): StepLoss;
  /** Images per forward pass when measuring validation loss. Default 1000. */
  readonly evalBatchSize?: number;
  /** Before each step; true stops the run here (the clustering fine-tune's assignments settled). */
  beforeStep?(ctx: StepContext): boolean;
  /** After each applied step (batch norm's moving statistics). */
  afterStep?(): void;
  /** What the objective reports about itself after the run (serialisable: the pool copies worker 0's). */
  readonly state?: object;
}

/** The outcome of one step: the mean loss over its images and its parts, or a stop from `beforeStep`. */
export type StepOutcome = { stopped: true } | { stopped: false; loss: number; parts?: Record<string, number> };

/**
 * Where steps execute: in this thread (`localRunner`) or across worker replicas (the pool).
 * `Snapshot` is whatever the runner needs to restore the best epoch's weights.
 */
export interface StepRunner<Snapshot = unknown> {
  step(ctx: StepContext): Promise<StepOutcome>;
  /** Mean loss over `indices`, without gradients. */
  evaluate(indices: Int32Array): Promise<number>;
  snapshot(): Promise<Snapshot>;
  release(snapshot: Snapshot): void;
  /** Puts the weights in the caller's model before `onEpochEnd` (a no-op where they already are). */
  sync(): Promise<void>;
  /** Leaves the run's final weights in the caller's model: `best` when early stopping restored it. */
  finish(best: Snapshot | null): Promise<void>;
  dispose(): void;
}

export interface FitPlan {
  phase: TrainProgress['phase'];
  /** For the stacked AE's pretraining: which layer (0-based). */
  layer?: number;
  /** Indices to train on (shuffled each epoch with `seed + epoch`) and to validate on (may be empty). */
  train: Int32Array;
  val: Int32Array;
  epochs: number;
  batchSize: number;
  seed: number;
  /** Stop after `patience` epochs without an improvement of `minDelta` in the monitored loss; restores the best epoch. */
  earlyStopping?: { patience: number; minDelta: number } | undefined;
  /** What diverged, for the error ('training', 'clustering fine-tune'). Default 'training'. */
  label?: string;
  /** Advice when the loss diverges. Default 'try a lower learning rate'. */
  advice?: string;
}

export interface FitResult {
  /** Stopped before `epochs`: early stopping, or the objective's `beforeStep`. */
  stoppedEarly: boolean;
  /** The epoch with the lowest monitored loss (validation, else training). */
  bestEpoch: number;
  imagesPerSec: number;
  /** Gradient steps taken. */
  steps: number;
}

/** Splits 0..n-1 into shuffled train and validation indices. */
export function splitIndices(n: number, validationSplit: number, seed: number): { train: Int32Array; val: Int32Array } {
  const order = shuffledIndices(n, seed);
  const valCount = validationSplit > 0 ? Math.max(1, Math.round(n * validationSplit)) : 0;
  if (n - valCount < 1)
    throw new AppError('invalid_input', `${n} images leave none to train on after a validation split of ${validationSplit}`);
  return { train: order.slice(valCount), val: order.slice(0, valCount) };
}

/** 0..n-1: every image, in order (a run without a validation split). */
export function allIndices(n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => i);
}

/** The seed of step `step`'s randomness in a run seeded with `seed` (a replica adds its `stream`). */
export function stepSeed(seed: number, step: number): number {
  return seed * 7919 + step * 16;
}

/** Adam with PyTorch's defaults (β1 0.9, β2 0.999, ε 1e-8), so runs compare with the reference. */
export function createAdam(learningRate: number): tf.Optimizer {
  return tf.train.adam(learningRate, 0.9, 0.999, 1e-8);
}

export const nextTick = () => new Promise<void>((resolve) => setImmediate(resolve));

export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new AppError('cancelled', 'training was cancelled');
}

/**
 * The objective's loss (and its parts as numbers in `parts`) for `ctx`; call inside tf.tidy or a
 * gradient tape. Shared by this thread's runner and the worker replicas.
 */
export function lossWithParts(objective: Objective, ctx: StepContext, parts: Record<string, number>): tf.Scalar {
  const { total, parts: named } = objective.loss(ctx);
  for (const [name, value] of Object.entries(named ?? {})) parts[name] = value.dataSync()[0]!;
  return total;
}

/** Mean loss of `objective` over `indices` in batches, without gradients (validation). */
export function evaluateObjective(objective: Objective, indices: Int32Array): number {
  return objectiveLossSum(objective, indices) / indices.length;
}

/** The sum over `indices` of each image's share of its batch's loss (batches of `evalBatchSize`), without gradients. */
export function objectiveLossSum(objective: Objective, indices: Int32Array): number {
  const batchSize = objective.evalBatchSize ?? 1000;
  let total = 0;
  for (let s = 0; s < indices.length; s += batchSize) {
    const e = Math.min(indices.length, s + batchSize);
    const ctx: StepContext = {
      indices: indices.subarray(s, e),
      epoch: 0,
      step: -1,
      progress: 0,
      seed: 0,
      stream: 0,
      offset: s,
      training: false,
    };
    total += tf.tidy(() => objective.loss(ctx).total.dataSync()[0]!) * (e - s);
  }
  return total;
}

export interface LocalRunnerOptions {
  learningRate: number;
  /** The learning rate at a point of the run (`ctx.progress`); default constant `learningRate`. */
  schedule?: (progress: number) => number;
}

/** Steps in this thread: Adam on the objective's variables; best weights kept as clones. */
export function localRunner(objective: Objective, options: LocalRunnerOptions): StepRunner<tf.Tensor[]> {
  const optimizer = createAdam(options.learningRate);
  const vars = [...objective.vars];
  return {
    step(ctx) {
      if (objective.beforeStep?.(ctx)) return Promise.resolve({ stopped: true });
      // Adam reads its (otherwise fixed) learning rate at every step.
      if (options.schedule) (optimizer as unknown as { learningRate: number }).learningRate = options.schedule(ctx.progress);
      const parts: Record<string, number> = {};
      const loss = tf.tidy(() => optimizer.minimize(() => lossWithParts(objective, ctx, parts), true, vars)!.dataSync()[0]!);
      objective.afterStep?.();
      return Promise.resolve({ stopped: false, loss, ...(Object.keys(parts).length ? { parts } : {}) });
    },
    evaluate: (indices) => Promise.resolve(evaluateObjective(objective, indices)),
    snapshot: () => Promise.resolve(vars.map((v) => tf.clone(v))),
    release: (snapshot) => tf.dispose(snapshot),
    sync: () => Promise.resolve(),
    finish(best) {
      if (best) vars.forEach((v, i) => v.assign(best[i]!));
      return Promise.resolve();
    },
    dispose: () => optimizer.dispose(),
  };
}

/** Running sums of a loss and its parts, weighted by images. */
class LossSums {
  loss = 0;
  images = 0;
  private readonly parts: Record<string, number> = {};

  add(outcome: { loss: number; parts?: Record<string, number> }, images: number): void {
    this.loss += outcome.loss * images;
    this.images += images;
    for (const [name, value] of Object.entries(outcome.parts ?? {})) this.parts[name] = (this.parts[name] ?? 0) + value * images;
  }

  /** Mean parts, or nothing when the objective reports none. */
  meanParts(): { parts?: Record<string, number> } {
    const names = Object.keys(this.parts);
    if (names.length === 0) return {};
    return { parts: Object.fromEntries(names.map((n) => [n, this.parts[n]! / this.images])) };
  }
}

/** The monitored loss, the best epoch so far and its weights (held only with early stopping). */
class BestEpoch<S> {
  loss = Infinity;
  epoch = 0;
  weights: S | null = null;
  private stale = 0;

  constructor(
    private readonly runner: StepRunner<S>,
    private readonly rule: FitPlan['earlyStopping'],
  ) {}

  /** Records an epoch; true when early stopping says to stop. */
  async observe(epoch: number, monitored: number): Promise<boolean> {
    if (monitored < this.loss - (this.rule?.minDelta ?? 0)) {
      this.loss = monitored;
      this.epoch = epoch;
      this.stale = 0;
      if (this.rule) {
        if (this.weights) this.runner.release(this.weights);
        this.weights = await this.runner.snapshot();
      }
      return false;
    }
    return this.rule !== undefined && ++this.stale >= this.rule.patience;
  }
}

/** Steps and images trained since the run started, and their rate. */
class Throughput {
  steps = 0;
  images = 0;
  private readonly started = performance.now();

  imagesPerSec(): number {
    return this.images / Math.max((performance.now() - this.started) / 1000, 1e-9);
  }
}

/** The progress event's fixed fields for a run. */
type Where = Pick<TrainProgress, 'phase' | 'layer' | 'epochs' | 'batches'>;

/** One epoch's steps over `plan.train` in the order of `seed + epoch`; stops early when the runner says so. */
async function runEpoch<S>(
  runner: StepRunner<S>,
  plan: FitPlan,
  epoch: number,
  hooks: TrainHooks,
  meter: Throughput,
  where: Where,
): Promise<{ sums: LossSums; stopped: boolean }> {
  const { epochs, batchSize, train } = plan;
  const batches = where.batches;
  const order = shuffledIndices(train.length, plan.seed + epoch);
  const sums = new LossSums();
  for (let b = 0; b < batches; b++) {
    throwIfAborted(hooks.signal);
    const s = b * batchSize;
    const e = Math.min(train.length, s + batchSize);
    const indices = new Int32Array(e - s);
    for (let k = 0; k < indices.length; k++) indices[k] = train[order[s + k]!]!;
    const step = (epoch - 1) * batches + b;
    const progress = step / (epochs * batches);
    const ctx: StepContext = { indices, epoch, step, progress, seed: stepSeed(plan.seed, step), stream: 0, offset: 0, training: true };
    const outcome = await runner.step(ctx);
    if (outcome.stopped) return { sums, stopped: true };
    const { loss, parts } = outcome;
    if (!Number.isFinite(loss)) {
      const what = `${plan.label ?? 'training'} diverged (loss ${loss}) at epoch ${epoch}, batch ${b + 1}`;
      throw new AppError('invalid_input', `${what}; ${plan.advice ?? 'try a lower learning rate'}`);
    }
    meter.steps++;
    meter.images += indices.length;
    sums.add(outcome, indices.length);
    const rate = meter.imagesPerSec();
    const remaining = (epochs - epoch) * train.length + (train.length - e);
    const batch = {
      epoch,
      batch: b + 1,
      loss,
      ...(parts ? { parts } : {}),
      valLoss: null,
      imagesPerSec: rate,
      etaSeconds: remaining / rate,
    };
    hooks.onProgress?.({ ...where, ...batch });
    await nextTick();
  }
  return { sums, stopped: false };
}

/**
 * Runs `plan` with `runner`, appending one record per epoch to `history` (which may start with a
 * resumed run's records). Throws AppError('cancelled') when `hooks.signal` aborts and
 * AppError('invalid_input') when the loss diverges. The runner is disposed at the end.
 */
export async function fit<S>(runner: StepRunner<S>, plan: FitPlan, hooks: TrainHooks, history: EpochRecord[]): Promise<FitResult> {
  const { epochs } = plan;
  const batches = Math.ceil(plan.train.length / plan.batchSize);
  const where: Where = { phase: plan.phase, ...(plan.layer !== undefined ? { layer: plan.layer } : {}), epochs, batches };
  const best = new BestEpoch(runner, plan.earlyStopping);
  const meter = new Throughput();
  let stoppedEarly = false;
  try {
    for (let epoch = hooks.resume?.startEpoch ?? 1; epoch <= epochs && !stoppedEarly; epoch++) {
      const epochStart = performance.now();
      const { sums, stopped } = await runEpoch(runner, plan, epoch, hooks, meter, where);
      stoppedEarly = stopped;
      if (sums.images === 0) break;
      const seconds = (performance.now() - epochStart) / 1000;
      const loss = sums.loss / sums.images;
      const parts = sums.meanParts();
      const valLoss = plan.val.length ? await runner.evaluate(plan.val) : null;
      history.push({ phase: plan.phase, epoch, loss, ...parts, valLoss, imagesPerSec: sums.images / seconds, seconds });
      const done = {
        epoch,
        batch: batches,
        loss,
        ...parts,
        valLoss,
        imagesPerSec: meter.imagesPerSec(),
        etaSeconds: (epochs - epoch) * seconds,
      };
      hooks.onProgress?.({ ...where, ...done, epochDone: true });
      // A stop from the objective ends the run here; early stopping decides on the monitored loss.
      stoppedEarly ||= await best.observe(epoch, valLoss ?? loss);
      if (stoppedEarly) break;
      if (hooks.onEpochEnd) {
        await runner.sync();
        await hooks.onEpochEnd(epoch, history);
      }
    }
    await runner.finish(stoppedEarly ? best.weights : null);
  } finally {
    if (best.weights) runner.release(best.weights);
    runner.dispose();
  }
  return { stoppedEarly, bestEpoch: best.epoch, imagesPerSec: meter.imagesPerSec(), steps: meter.steps };
}
