/**
 * Model worker threads from the main thread's side: start N workers (each its own backend and
 * model replica), encode images across them, and run synchronous data-parallel training whose
 * result equals one process training on the whole batch (the workers sum their gradients).
 * wasm runs one thread per instance in Node, so this is how Latent Atlas uses every core.
 */
import { Worker } from 'node:worker_threads';
import type { BackendName } from '../backend';
import { AppError, type ErrorCode } from '../../errors';
import {
  fit,
  splitIndices,
  type EpochRecord,
  type FitPlan,
  type StepContext,
  type StepOutcome,
  type StepRunner,
  type TrainHooks,
} from '../../training/fit';
import { CENTERS, type Autoencoder } from '../../models/autoencoder';
import { clusterPlan, type ClusterStart, type ClusterState } from '../../models/cluster-finetune';
import { checkImageSet, imageSize, type ImageSet } from '../../data/image-set';
import type { ObjectiveSpec } from '../../models/objectives';
import { refuseShardedTwoViews, type TrainOptions, type TrainResult } from '../../models/train';
import { CONTROL, type FromWorker, type ToWorker, type Weights } from './worker-protocol';

const BOOTSTRAP = new URL('../../../workers/thread-bootstrap.mjs', import.meta.url);
const ENTRY = new URL('../../../workers/model-worker.ts', import.meta.url).href;

interface Pending {
  expect: FromWorker['type'];
  resolve: (m: FromWorker) => void;
  reject: (e: Error) => void;
  onEvent?: (m: FromWorker) => void;
}

class WorkerHandle {
  private pending: Pending[] = [];
  private failure: Error | null = null;

  constructor(readonly worker: Worker) {
    worker.on('message', (message: FromWorker) => {
      const head = this.pending[0];
      if (!head) return;
      if (message.type === 'error') {
        this.pending.shift();
        head.reject(new AppError((message.code as ErrorCode | undefined) ?? 'internal', message.message));
      } else if (message.type === head.expect) {
        this.pending.shift();
        head.resolve(message);
      } else {
        head.onEvent?.(message);
      }
    });
    const fail = (error: Error) => {
      this.failure = error;
      for (const p of this.pending.splice(0)) p.reject(error);
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`model worker exited (code ${code})`)));
  }

  request<T extends FromWorker['type']>(
    message: ToWorker,
    expect: T,
    onEvent?: (m: FromWorker) => void,
    transfer: ArrayBuffer[] = [],
  ): Promise<Extract<FromWorker, { type: T }>> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.pending.push({ expect, resolve: resolve as (m: FromWorker) => void, reject, ...(onEvent ? { onEvent } : {}) });
      this.worker.postMessage(message, transfer);
    });
  }
}

export class ModelWorkerPool {
  private constructor(
    private readonly handles: WorkerHandle[],
    private readonly backend: BackendName,
  ) {}

  get size(): number {
    return this.handles.length;
  }

  /** Starts `workers` threads on `backend`, each with a copy of `model`'s current weights. */
  static async start(model: Autoencoder, workers: number, backend: BackendName): Promise<ModelWorkerPool> {
    const handles = Array.from({ length: workers }, () => new WorkerHandle(new Worker(BOOTSTRAP, { workerData: { entry: ENTRY } })));
    const pool = new ModelWorkerPool(handles, backend);
    try {
      await pool.loadWeights(model.spec, Object.fromEntries(model.readWeights()), backend);
    } catch (error) {
      await pool.close();
      throw error;
    }
    return pool;
  }

  /** Gives every worker `model`'s current weights (after it changed outside the pool). */
  async syncWeights(model: Autoencoder): Promise<void> {
    await this.loadWeights(model.spec, Object.fromEntries(model.readWeights()), this.backend);
  }

  private loadWeights(spec: Autoencoder['spec'], weights: Weights, backend: BackendName): Promise<unknown> {
    return Promise.all(this.handles.map((h) => h.request({ type: 'init', backend, spec, weights }, 'ready')));
  }

  /**
   * Latent vectors [count × latent] of `set`, chunks spread over the workers; with `embed`, the
   * search vectors (the codes through the model's search head, `Autoencoder.embed`).
   */
  async encode(
    set: ImageSet,
    latentSize: number,
    options: { chunk?: number; batchSize?: number; embed?: boolean } = {},
  ): Promise<Float32Array> {
    const chunk = options.chunk ?? 2048;
    const size = imageSize(set);
    const out = new Float32Array(set.count * latentSize);
    let next = 0;
    const work = async (h: WorkerHandle) => {
      while (next < set.count) {
        const start = next;
        const end = Math.min(set.count, start + chunk);
        next = end;
        const pixels = set.pixels.slice(start * size, end * size);
        const reply = await h.request(
          { type: 'encode', pixels, count: end - start, batchSize: options.batchSize ?? 512, embed: options.embed ?? false },
          'encoded',
          undefined,
          [pixels.buffer as ArrayBuffer],
        );
        out.set(reply.latents, start * latentSize);
      }
    };
    await Promise.all(this.handles.map(work));
    return out;
  }

  /**
   * Data-parallel training of `model` (its weights are replaced by the result). Same contract as
   * `trainAutoencoder` (the same driver): progress per batch, validation per epoch, early stopping
   * restoring the best epoch, AppError('cancelled') on abort.
   */
  async train(model: Autoencoder, set: ImageSet, options: TrainOptions, hooks: TrainHooks = {}): Promise<TrainResult> {
    checkImageSet(set, model.spec.inputShape);
    refuseShardedTwoViews(model.spec, options.batchSize, this.size);
    const plan: FitPlan = {
      phase: 'train',
      ...splitIndices(set.count, options.validationSplit, options.seed),
      epochs: options.epochs,
      batchSize: options.batchSize,
      seed: options.seed,
      earlyStopping: options.earlyStopping,
    };
    const history: EpochRecord[] = [...(hooks.resume?.history ?? [])];
    const runner = await this.runner(model, set, options, { kind: 'reconstruction' });
    const { stoppedEarly, bestEpoch, imagesPerSec } = await fit(runner, plan, hooks, history);
    return { history, stoppedEarly, bestEpoch, imagesPerSec };
  }

  /**
   * The clustering fine-tune's steps, data-parallel (see `finetuneClusters`, which starts the
   * centres and passes this pool as its runner): all images, no validation, phase 'cluster'.
   */
  async fitClusters(
    model: Autoencoder,
    set: ImageSet,
    options: TrainOptions,
    hooks: TrainHooks,
    start: ClusterStart,
  ): Promise<{ history: EpochRecord[]; steps: number; state: ClusterState }> {
    const k = model.spec.clustering?.clusters;
    if (!k) throw new AppError('invalid_input', 'the clustering fine-tune needs a spec with a clustering head (spec.clustering)');
    checkImageSet(set, model.spec.inputShape);
    const centers = model.p(CENTERS).dataSync() as Float32Array;
    const runner = await this.runner(model, set, options, { kind: 'cluster', start }, { weights: { [CENTERS]: centers }, assignments: k });
    const history: EpochRecord[] = [];
    const { steps } = await fit(runner, clusterPlan(set.count, options), hooks, history);
    const state = (runner.state as ClusterState | undefined) ?? { updates: 0, changed: 1, klStart: 0, klEnd: 0, converged: false };
    return { history, steps, state };
  }

  /**
   * Sets every worker up to train `objective` on `set` (shared pixels, gradient regions and
   * barrier) and returns the runner through which the driver sends them steps.
   */
  private async runner(
    model: Autoencoder,
    set: ImageSet,
    options: TrainOptions,
    objective: ObjectiveSpec,
    extra: { weights?: Weights; assignments?: number } = {},
  ): Promise<PoolRunner> {
    const workers = this.size;
    const float = set.pixels instanceof Float32Array;
    const pixels = new SharedArrayBuffer(set.pixels.byteLength);
    (float ? new Float32Array(pixels) : new Uint8Array(pixels)).set(set.pixels);
    // Room for a gradient of every variable of the model: an objective trains some or all of them.
    const paramSize = [...model.params.values()].reduce((n, v) => n + v.size, 0);
    const control = new SharedArrayBuffer(CONTROL.LENGTH * 4);
    const grads = new SharedArrayBuffer(workers * paramSize * 4);
    const assignments = extra.assignments ? new SharedArrayBuffer(set.count * extra.assignments * 4) : undefined;
    const meta = { count: set.count, height: set.height, width: set.width, channels: set.channels, float };
    await Promise.all(
      this.handles.map((h, worker) =>
        h.request(
          {
            type: 'train-setup',
            pixels,
            meta,
            objective,
            options,
            ...(extra.weights ? { weights: extra.weights } : {}),
            control,
            grads,
            ...(assignments ? { assignments } : {}),
            worker,
            workers,
          },
          'ready',
        ),
      ),
    );
    return new PoolRunner(model, this.handles);
  }

  async close(): Promise<void> {
    await Promise.all(this.handles.map((h) => h.worker.terminate()));
  }
}

/**
 * The driver's steps on the pool's replicas: each step goes to every worker (which trains on its
 * share and meets the others), the loss is the sum of their weighted shares; weights come back
 * from worker 0 (all replicas are identical) for snapshots, checkpoints and the result.
 */
class PoolRunner implements StepRunner<Weights> {
  /** Worker 0's report of its objective (the clustering fine-tune's targets), after the last step. */
  state: object | undefined;

  constructor(
    private readonly model: Autoencoder,
    private readonly handles: WorkerHandle[],
  ) {}

  async step(ctx: StepContext): Promise<StepOutcome> {
    const replies = await Promise.all(this.handles.map((h) => h.request({ type: 'train-step', ctx }, 'step-done')));
    this.state = replies[0]!.state;
    if (replies[0]!.stopped) return { stopped: true };
    const parts: Record<string, number> = {};
    let loss = 0;
    for (const reply of replies) {
      loss += reply.loss;
      for (const [name, value] of Object.entries(reply.parts)) parts[name] = (parts[name] ?? 0) + value;
    }
    return { stopped: false, loss, ...(Object.keys(parts).length ? { parts } : {}) };
  }

  async evaluate(indices: Int32Array): Promise<number> {
    const share = Math.ceil(indices.length / this.handles.length);
    const sums = await Promise.all(
      this.handles.map((h, i) => h.request({ type: 'eval', indices: indices.slice(i * share, (i + 1) * share) }, 'eval-done')),
    );
    return sums.reduce((s, p) => s + p.sum, 0) / indices.length;
  }

  async snapshot(): Promise<Weights> {
    return (await this.handles[0]!.request({ type: 'get-weights' }, 'weights')).weights;
  }

  release(): void {}

  async sync(): Promise<void> {
    this.model.writeWeights(new Map(Object.entries(await this.snapshot())));
  }

  async finish(best: Weights | null): Promise<void> {
    this.model.writeWeights(new Map(Object.entries(best ?? (await this.snapshot()))));
  }

  dispose(): void {}
}
