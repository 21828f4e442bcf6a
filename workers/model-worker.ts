/**
 * A model worker thread: its own TensorFlow.js backend (wasm is single-threaded per instance,
 * so one worker per core uses the machine), a replica of the model, and two jobs:
 * - encode: a chunk of images → latent vectors;
 * - synchronous data-parallel training: each step, every worker computes the gradient of its
 *   share of the batch, writes it to shared memory, meets the others at a barrier, and applies
 *   the same summed gradient with its own Adam, so all replicas stay identical. The clustering
 *   fine-tune runs the same way; its targets are recomputed by all workers together.
 */
import { parentPort, type TransferListItem } from 'node:worker_threads';
import { initEngine } from '../lib/engine/backend';
import { tf, type Tensor4D } from '../lib/engine/tf';
import { AppError } from '../lib/errors';
import { Autoencoder, CENTERS } from '../lib/models/autoencoder';
import { ClusterTargets, clusterObjective } from '../lib/models/cluster-finetune';
import { batchTensor, type ImageSet } from '../lib/models/image-set';
import { embedImages, encodeImages } from '../lib/models/inference';
import { autoencoderObjective, clusterScheduleSchema, createAdam, shuffledIndices, type TrainOptions } from '../lib/models/train';
import { barrier, CONTROL, type FromWorker, type ToWorker, type Weights } from '../lib/models/worker-protocol';

if (!parentPort) throw new Error('model-worker must run in a worker thread');
const port = parentPort;

let model: Autoencoder | null = null;

interface TrainState {
  set: ImageSet;
  train: Int32Array;
  options: TrainOptions;
  control: Int32Array;
  grads: Float32Array;
  losses: Float64Array;
  worker: number;
  workers: number;
  paramSize: number;
  vars: tf.Variable[];
  optimizer: tf.Optimizer;
  /** Loss of a batch of images `x`, the images at `idx` of the set. */
  lossOf: (x: Tensor4D, idx: Int32Array, step: number) => tf.Scalar;
  step: number;
  /** The clustering fine-tune: targets P of every image and the Q all workers fill in together. */
  cluster: { targets: ClusterTargets; q: Float32Array; interval: number } | null;
}
let training: TrainState | null = null;

function send(message: FromWorker, transfer: TransferListItem[] = []): void {
  port.postMessage(message, transfer);
}

function requireModel(): Autoencoder {
  if (!model) throw new Error('worker has no model: send init first');
  return model;
}

function weightsOf(m: Autoencoder): Weights {
  return Object.fromEntries(m.readWeights());
}

/** One training epoch in lockstep with the other workers. */
function trainEpoch(state: TrainState, epoch: number): FromWorker {
  const { set, train, options, control, grads, losses, worker, workers, paramSize, vars } = state;
  const order = shuffledIndices(train.length, options.seed + epoch);
  const batches = Math.ceil(train.length / options.batchSize);
  let sumLoss = 0;
  const clusterReport = () => (state.cluster ? { cluster: { ...state.cluster.targets.state, steps: state.step } } : {});
  for (let b = 0; b < batches; b++) {
    if (state.cluster && state.step % state.cluster.interval === 0 && updateTargets(state, state.cluster)) {
      return { type: 'epoch-done', sumLoss, count: b * options.batchSize, cancelled: false, ...clusterReport() };
    }
    const parity = state.step % 2;
    const stopSlot = parity === 0 ? CONTROL.STOP0 : CONTROL.STOP1;
    // Worker 0 decides, before the barrier, whether this step stops; all read it after.
    if (worker === 0) Atomics.store(control, stopSlot, Atomics.load(control, CONTROL.ABORT));
    const s = b * options.batchSize;
    const e = Math.min(train.length, s + options.batchSize);
    const share = Math.ceil((e - s) / workers);
    const myStart = Math.min(e, s + worker * share);
    const myEnd = Math.min(e, myStart + share);
    const region = grads.subarray((parity * workers + worker) * paramSize, (parity * workers + worker + 1) * paramSize);
    let myLoss = 0;
    if (myEnd > myStart) {
      const idx = new Int32Array(myEnd - myStart);
      for (let k = 0; k < idx.length; k++) idx[k] = train[order[myStart + k]!]!;
      const weight = idx.length / (e - s);
      tf.tidy(() => {
        const x = batchTensor(set, idx, 0, idx.length);
        const { value, grads: g } = tf.variableGrads(() => tf.mul(state.lossOf(x, idx, state.step), weight) as tf.Scalar, vars);
        myLoss = value.dataSync()[0]!;
        let offset = 0;
        for (const v of vars) {
          region.set(g[v.name]!.dataSync() as Float32Array, offset);
          offset += v.size;
        }
      });
    } else {
      region.fill(0);
    }
    losses[parity * workers + worker] = myLoss;
    barrier(control, workers);
    if (Atomics.load(control, stopSlot)) return { type: 'epoch-done', sumLoss, count: b * options.batchSize, cancelled: true };
    // Sum the workers' gradients in the same order everywhere, so the replicas stay identical.
    const total = new Float32Array(paramSize);
    let batchLoss = 0;
    for (let w = 0; w < workers; w++) {
      const other = grads.subarray((parity * workers + w) * paramSize, (parity * workers + w + 1) * paramSize);
      for (let k = 0; k < paramSize; k++) total[k]! += other[k]!;
      batchLoss += losses[parity * workers + w]!;
    }
    tf.tidy(() => {
      const named: tf.NamedTensorMap = {};
      let offset = 0;
      for (const v of vars) {
        named[v.name] = tf.tensor(total.subarray(offset, offset + v.size), v.shape);
        offset += v.size;
      }
      state.optimizer.applyGradients(named);
    });
    state.step++;
    sumLoss += batchLoss * (e - s);
    if (worker === 0) send({ type: 'batch', epoch, batch: b + 1, batches, loss: batchLoss, images: e - s });
  }
  return { type: 'epoch-done', sumLoss, count: train.length, cancelled: false, ...clusterReport() };
}

/**
 * Recomputes the clustering targets: each worker fills its share of Q (the soft assignments of
 * all images), meets the others, then derives the same P from the whole of Q. True once settled.
 */
function updateTargets(state: TrainState, cluster: NonNullable<TrainState['cluster']>): boolean {
  const m = requireModel();
  const { set, worker, workers } = state;
  const k = cluster.targets.k;
  const share = Math.ceil(set.count / workers);
  const end = Math.min(set.count, (worker + 1) * share);
  for (let s = Math.min(set.count, worker * share); s < end; s += 1000) {
    const e = Math.min(end, s + 1000);
    cluster.q.set(
      tf.tidy(() => m.softAssign(m.encode(batchTensor(set, null, s, e))).dataSync()),
      s * k,
    );
  }
  barrier(state.control, workers);
  return cluster.targets.update(cluster.q);
}

async function handle(message: ToWorker): Promise<void> {
  switch (message.type) {
    case 'init': {
      await initEngine(message.backend);
      model?.dispose();
      model = Autoencoder.fromWeights(message.spec, new Map(Object.entries(message.weights)));
      send({ type: 'ready' });
      return;
    }
    case 'encode': {
      const m = requireModel();
      const [height, width, channels] = m.spec.inputShape;
      const latents = (message.embed ? embedImages : encodeImages)(
        m,
        { pixels: message.pixels, count: message.count, height, width, channels },
        { batchSize: message.batchSize },
      );
      send({ type: 'encoded', latents }, [latents.buffer as ArrayBuffer]);
      return;
    }
    case 'train-setup': {
      const m = requireModel();
      const { meta } = message;
      const pixels = meta.float ? new Float32Array(message.pixels) : new Uint8Array(message.pixels);
      const cluster = message.cluster;
      const vars = cluster ? [...m.autoencoderParams, m.p(CENTERS)] : m.autoencoderParams;
      if (cluster) m.writeWeights(new Map([[CENTERS, cluster.centers]]));
      const objective = cluster
        ? clusterObjective(m, clusterScheduleSchema.parse(message.options.clustering ?? {}).target)
        : autoencoderObjective(m, message.options);
      const targets = cluster
        ? new ClusterTargets(
            m.spec.clustering!.clusters,
            clusterScheduleSchema.parse(message.options.clustering ?? {}).tolerance,
            cluster.start,
          )
        : null;
      training?.optimizer.dispose();
      training = {
        set: { pixels, count: meta.count, height: meta.height, width: meta.width, channels: meta.channels },
        train: message.train,
        options: message.options,
        worker: message.worker,
        workers: message.workers,
        control: new Int32Array(message.control),
        grads: new Float32Array(message.grads),
        losses: new Float64Array(message.losses),
        paramSize: vars.reduce((n, v) => n + v.size, 0),
        vars,
        optimizer: createAdam(message.options.learningRate),
        lossOf:
          targets && cluster
            ? (x, idx) => (objective as ReturnType<typeof clusterObjective>)(x, targets.rows(idx))
            : (x, _idx, step) => (objective as ReturnType<typeof autoencoderObjective>)(x, step, message.worker),
        step: 0,
        cluster:
          targets && cluster
            ? {
                targets,
                q: new Float32Array(cluster.q),
                interval: clusterScheduleSchema.parse(message.options.clustering ?? {}).updateInterval,
              }
            : null,
      };
      send({ type: 'ready' });
      return;
    }
    case 'train-epoch': {
      if (!training) throw new Error('worker has no training set up');
      send(trainEpoch(training, message.epoch));
      return;
    }
    case 'eval': {
      if (!training) throw new Error('worker has no training set up');
      const state = training;
      let sum = 0;
      for (let s = 0; s < message.indices.length; s += 1000) {
        const idx = message.indices.subarray(s, Math.min(message.indices.length, s + 1000));
        sum += tf.tidy(() => state.lossOf(batchTensor(state.set, idx, 0, idx.length), idx, -1).dataSync()[0]!) * idx.length;
      }
      send({ type: 'eval-done', sum, count: message.indices.length });
      return;
    }
    case 'get-weights': {
      send({ type: 'weights', weights: weightsOf(requireModel()) });
      return;
    }
  }
}

let queue = Promise.resolve();
port.on('message', (message: ToWorker) => {
  queue = queue
    .then(() => handle(message))
    .catch((error: unknown) => {
      send({ type: 'error', message: (error as Error).message, ...(error instanceof AppError ? { code: error.code } : {}) });
    });
});
