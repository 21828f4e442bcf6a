/**
 * Model worker threads from the main thread's side: start N workers (each its own backend and
 * model replica), encode images across them, and run synchronous data-parallel training whose
 * result equals one process training on the whole batch (the workers sum their gradients).
 * wasm runs one thread per instance in Node, so this is how Latent Atlas uses every core.
 */
import { Worker } from 'node:worker_threads';
import type { BackendName } from '../engine/backend';
import { AppError, type ErrorCode } from '../errors';
import { CENTERS, type Autoencoder } from './autoencoder';
import type { ClusterStart, ClusterState } from './cluster-finetune';
import { checkImageSet, imageSize, type ImageSet } from './image-set';
import { clusterScheduleSchema, splitIndices, type EpochRecord, type TrainHooks, type TrainOptions, type TrainResult } from './train';
import { CONTROL, type FromWorker, type ToWorker, type Weights } from './worker-protocol';

const BOOTSTRAP = new URL('../../workers/thread-bootstrap.mjs', import.meta.url);
const ENTRY = new URL('../../workers/model-worker.ts', import.meta.url).href;

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
   * `trainAutoencoder`: progress per batch, validation per epoch, early stopping restoring the best
   * epoch, AppError('cancelled') on abort.
   */
  async train(model: Autoencoder, set: ImageSet, options: TrainOptions, hooks: TrainHooks = {}): Promise<TrainResult> {
    const { history, stoppedEarly, bestEpoch, imagesPerSec } = await this.run(model, set, options, hooks, null);
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
    const q = new SharedArrayBuffer(set.count * k * 4);
    const centers = model.p(CENTERS).dataSync() as Float32Array;
    const result = await this.run(model, set, options, hooks, { centers, start, q });
    const { steps, ...state } = result.cluster ?? { updates: 0, changed: 1, klStart: 0, klEnd: 0, converged: false, steps: 0 };
    return { history: result.history, steps, state };
  }

  private async run(
    model: Autoencoder,
    set: ImageSet,
    trainOptions: TrainOptions,
    hooks: TrainHooks,
    cluster: { centers: Float32Array; start: ClusterStart; q: SharedArrayBuffer } | null,
  ): Promise<TrainResult & { cluster?: ClusterState & { steps: number } }> {
    checkImageSet(set, model.spec.inputShape);
    // The clustering fine-tune trains on every image, for its own number of epochs, without early stopping.
    const schedule = cluster ? clusterScheduleSchema.parse(trainOptions.clustering ?? {}) : null;
    let options = trainOptions;
    if (schedule) {
      options = { ...trainOptions, epochs: schedule.epochs, batchSize: schedule.batchSize, validationSplit: 0 };
      delete options.earlyStopping;
    }
    const phase = cluster ? 'cluster' : 'train';
    const split = cluster
      ? { train: Int32Array.from({ length: set.count }, (_, i) => i), val: new Int32Array(0) }
      : splitIndices(set.count, options.validationSplit, options.seed);
    const workers = this.size;
    const float = set.pixels instanceof Float32Array;
    const pixels = new SharedArrayBuffer(set.pixels.byteLength);
    (float ? new Float32Array(pixels) : new Uint8Array(pixels)).set(set.pixels);
    const paramSize = model.autoencoderParams.reduce((n, v) => n + v.size, 0) + (cluster ? cluster.centers.length : 0);
    const control = new SharedArrayBuffer(CONTROL.LENGTH * 4);
    const grads = new SharedArrayBuffer(2 * workers * paramSize * 4);
    const losses = new SharedArrayBuffer(2 * workers * 8);
    const meta = { count: set.count, height: set.height, width: set.width, channels: set.channels, float };
    await Promise.all(
      this.handles.map((h, worker) =>
        h.request(
          {
            type: 'train-setup',
            pixels,
            meta,
            train: split.train,
            options,
            control,
            grads,
            losses,
            worker,
            workers,
            ...(cluster ? { cluster } : {}),
          },
          'ready',
        ),
      ),
    );

    const controlView = new Int32Array(control);
    const onAbort = () => Atomics.store(controlView, CONTROL.ABORT, 1);
    hooks.signal?.addEventListener('abort', onAbort);
    if (hooks.signal?.aborted) onAbort();
    const history: EpochRecord[] = [...(hooks.resume?.history ?? [])];
    const started = performance.now();
    let images = 0;
    let best = Infinity;
    let bestEpoch = 0;
    let bestWeights: Weights | null = null;
    let stale = 0;
    let stoppedEarly = false;
    let clusterState: (ClusterState & { steps: number }) | undefined;
    try {
      for (let epoch = hooks.resume?.startEpoch ?? 1; epoch <= options.epochs; epoch++) {
        const epochStart = performance.now();
        const onEvent = (m: FromWorker) => {
          if (m.type !== 'batch') return;
          images += m.images;
          const rate = images / ((performance.now() - started) / 1000);
          const remaining =
            (options.epochs - epoch) * split.train.length +
            (split.train.length - Math.min(split.train.length, m.batch * options.batchSize));
          hooks.onProgress?.({
            phase,
            epoch,
            epochs: options.epochs,
            batch: m.batch,
            batches: m.batches,
            loss: m.loss,
            valLoss: null,
            imagesPerSec: rate,
            etaSeconds: remaining / rate,
          });
        };
        const results = await Promise.all(
          this.handles.map((h, i) => h.request({ type: 'train-epoch', epoch }, 'epoch-done', i === 0 ? onEvent : undefined)),
        );
        if (results.some((r) => r.cancelled)) throw new AppError('cancelled', 'training was cancelled');
        const seconds = (performance.now() - epochStart) / 1000;
        const count = results[0]!.count;
        clusterState = results[0]!.cluster;
        if (count === 0) break;
        const loss = results[0]!.sumLoss / count;
        const valLoss = split.val.length ? await this.evaluate(split.val) : null;
        history.push({ phase, epoch, loss, valLoss, imagesPerSec: count / seconds, seconds });
        hooks.onProgress?.({
          phase,
          epoch,
          epochs: options.epochs,
          batch: Math.ceil(split.train.length / options.batchSize),
          batches: Math.ceil(split.train.length / options.batchSize),
          loss,
          valLoss,
          imagesPerSec: images / ((performance.now() - started) / 1000),
          etaSeconds: (options.epochs - epoch) * seconds,
          epochDone: true,
        });
        if (clusterState?.converged) {
          stoppedEarly = true;
          break;
        }
        const monitored = valLoss ?? loss;
        if (monitored < best - (options.earlyStopping?.minDelta ?? 0)) {
          best = monitored;
          bestEpoch = epoch;
          stale = 0;
          if (options.earlyStopping) bestWeights = (await this.handles[0]!.request({ type: 'get-weights' }, 'weights')).weights;
        } else if (options.earlyStopping && ++stale >= options.earlyStopping.patience) {
          stoppedEarly = true;
          break;
        }
        if (hooks.onEpochEnd) {
          model.writeWeights(new Map(Object.entries((await this.handles[0]!.request({ type: 'get-weights' }, 'weights')).weights)));
          await hooks.onEpochEnd(epoch, history);
        }
      }
      const final =
        stoppedEarly && bestWeights ? bestWeights : (await this.handles[0]!.request({ type: 'get-weights' }, 'weights')).weights;
      model.writeWeights(new Map(Object.entries(final)));
    } finally {
      hooks.signal?.removeEventListener('abort', onAbort);
    }
    return {
      history,
      stoppedEarly,
      bestEpoch,
      imagesPerSec: images / ((performance.now() - started) / 1000),
      ...(clusterState ? { cluster: clusterState } : {}),
    };
  }

  private async evaluate(indices: Int32Array): Promise<number> {
    const share = Math.ceil(indices.length / this.size);
    const parts = await Promise.all(
      this.handles.map((h, i) => h.request({ type: 'eval', indices: indices.slice(i * share, (i + 1) * share) }, 'eval-done')),
    );
    return parts.reduce((s, p) => s + p.sum, 0) / indices.length;
  }

  async close(): Promise<void> {
    await Promise.all(this.handles.map((h) => h.worker.terminate()));
  }
}
