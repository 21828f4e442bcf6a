/**
 * A model worker thread: its own TensorFlow.js backend (wasm is single-threaded per instance,
 * so one worker per core uses the machine), a replica of the model, and two jobs:
 * - encode: a chunk of images → latent vectors;
 * - synchronous data-parallel training: the main thread's driver (`lib/training/fit.ts`) sends
 *   each step's batch; every worker computes the gradient of its share of it, writes it to shared
 *   memory, meets the others at a barrier, and applies the same summed gradient with its own
 *   Adam, so all replicas stay identical. The objective is built by name (`lib/models/objectives.ts`);
 *   the clustering fine-tune's soft assignments are computed by all workers together.
 */
import { parentPort, type TransferListItem } from 'node:worker_threads';
import { initEngine } from '../lib/engine/backend';
import { tf } from '../lib/engine/tf';
import { AppError } from '../lib/errors';
import { Autoencoder } from '../lib/models/autoencoder';
import { batchTensor, type ImageSet } from '../lib/data/image-set';
import { embedImages, encodeImages } from '../lib/models/inference';
import { createObjective } from '../lib/models/objectives';
import { barrier, type FromWorker, type ToWorker, type Weights } from '../lib/engine/parallel/worker-protocol';
import { createAdam, lossWithParts, objectiveLossSum, type Objective, type StepContext } from '../lib/training/fit';

if (!parentPort) throw new Error('model-worker must run in a worker thread');
const port = parentPort;

let model: Autoencoder | null = null;

interface TrainState {
  set: ImageSet;
  objective: Objective;
  vars: tf.Variable[];
  optimizer: tf.Optimizer;
  control: Int32Array;
  grads: Float32Array;
  worker: number;
  workers: number;
  paramSize: number;
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

/** This worker's share of a batch: a contiguous slice, and where it starts. */
function shareOf(indices: Int32Array, worker: number, workers: number): { indices: Int32Array; offset: number } {
  const share = Math.ceil(indices.length / workers);
  const start = Math.min(indices.length, worker * share);
  return { indices: indices.subarray(start, Math.min(indices.length, start + share)), offset: start };
}

/** One step in lockstep with the other workers: gradient of this share, barrier, the same summed update everywhere. */
function trainStep(state: TrainState, batch: StepContext): FromWorker {
  const { objective, control, grads, worker, workers, paramSize, vars } = state;
  const ctx: StepContext = { ...batch, ...shareOf(batch.indices, worker, workers), stream: worker };
  const report = objective.state ? { state: objective.state } : {};
  if (objective.beforeStep?.(ctx)) return { type: 'step-done', stopped: true, loss: 0, parts: {}, ...report };
  const region = grads.subarray(worker * paramSize, (worker + 1) * paramSize);
  const weight = ctx.indices.length / batch.indices.length;
  const parts: Record<string, number> = {};
  let loss = 0;
  if (ctx.indices.length > 0) {
    tf.tidy(() => {
      const { value, grads: g } = tf.variableGrads(() => tf.mul(lossWithParts(objective, ctx, parts), weight) as tf.Scalar, vars);
      loss = value.dataSync()[0]!;
      let offset = 0;
      for (const v of vars) {
        region.set(g[v.name]!.dataSync() as Float32Array, offset);
        offset += v.size;
      }
    });
  } else {
    region.fill(0);
  }
  barrier(control, workers);
  // Sum the workers' gradients in the same order everywhere, so the replicas stay identical.
  const total = new Float32Array(paramSize);
  for (let w = 0; w < workers; w++) {
    const other = grads.subarray(w * paramSize, (w + 1) * paramSize);
    for (let k = 0; k < paramSize; k++) total[k]! += other[k]!;
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
  objective.afterStep?.();
  for (const name of Object.keys(parts)) parts[name]! *= weight;
  return { type: 'step-done', stopped: false, loss, parts, ...report };
}

/**
 * The soft assignments of all images, computed together: each worker fills its share of the
 * shared buffer, then meets the others, so all read the same whole.
 */
function assignAllTogether(
  m: Autoencoder,
  set: ImageSet,
  buffer: SharedArrayBuffer | undefined,
  control: Int32Array,
  worker: number,
  workers: number,
) {
  return (): Float32Array => {
    if (!buffer) throw new AppError('internal', 'this objective needs the shared assignments buffer');
    const q = new Float32Array(buffer);
    const k = q.length / set.count;
    const share = Math.ceil(set.count / workers);
    const end = Math.min(set.count, (worker + 1) * share);
    for (let s = Math.min(set.count, worker * share); s < end; s += 1000) {
      const e = Math.min(end, s + 1000);
      q.set(
        tf.tidy(() => m.softAssign(m.encode(batchTensor(set, null, s, e))).dataSync()),
        s * k,
      );
    }
    barrier(control, workers);
    return q;
  };
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
      const { meta, worker, workers } = message;
      if (message.weights) m.writeWeights(new Map(Object.entries(message.weights)));
      const pixels = meta.float ? new Float32Array(message.pixels) : new Uint8Array(message.pixels);
      const set: ImageSet = { pixels, count: meta.count, height: meta.height, width: meta.width, channels: meta.channels };
      const control = new Int32Array(message.control);
      const assignAll = assignAllTogether(m, set, message.assignments, control, worker, workers);
      const objective = createObjective(message.objective, { model: m, set, options: message.options, assignAll });
      const vars = [...objective.vars];
      training?.optimizer.dispose();
      training = {
        set,
        objective,
        vars,
        optimizer: createAdam(message.options.learningRate),
        control,
        grads: new Float32Array(message.grads),
        worker,
        workers,
        paramSize: vars.reduce((n, v) => n + v.size, 0),
      };
      send({ type: 'ready' });
      return;
    }
    case 'train-step': {
      if (!training) throw new Error('worker has no training set up');
      send(trainStep(training, message.ctx));
      return;
    }
    case 'eval': {
      if (!training) throw new Error('worker has no training set up');
      send({ type: 'eval-done', sum: objectiveLossSum(training.objective, message.indices), count: message.indices.length });
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
