/**
 * The clustering fine-tune of a model with a clustering head (IDEC, Guo et al. 2017, which keeps
 * DEC's objective, Xie et al. 2016, next to the reconstruction): the centres start from k-means
 * on the trained autoencoder's codes; then encoder, decoder and centres minimise
 * reconstruction + gamma·KL(P‖Q), where Q are Student-t soft assignments of the codes to the
 * centres and P is Q sharpened (q²/cluster size), recomputed over all images every
 * `updateInterval` batches. No labels are used. It stops when fewer than `tolerance` of the
 * images change cluster between two updates, or after `epochs` passes.
 */
import { AppError } from '../errors';
import { kmeans } from '../clustering/kmeans';
import { tf, type Tensor2D } from '../engine/tf';
import { CENTERS, type Autoencoder } from './autoencoder';
import { batchTensor, checkImageSet, type ImageSet } from './image-set';
import { encodeImages } from './inference';
import { clusteringKl, RECONSTRUCTION_LOSSES } from './losses';
import {
  clusterScheduleSchema,
  createAdam,
  nextTick,
  shuffledIndices,
  throwIfAborted,
  type EpochRecord,
  type TrainHooks,
  type TrainOptions,
  type TrainResult,
} from './train';

/** Codes of a whole set; the default encodes in this thread, a worker pool can do it in parallel. */
export type EncodeSet = (model: Autoencoder, set: ImageSet) => Promise<Float32Array>;

const encodeHere: EncodeSet = (model, set) => Promise.resolve(encodeImages(model, set));

/** Soft assignments Q [n × k] of codes [n × d] to the model's centres, in chunks. */
export function softAssignCodes(model: Autoencoder, codes: Float32Array, chunk = 4096): Float32Array {
  const d = model.latentSize;
  const n = codes.length / d;
  const k = model.spec.clustering?.clusters ?? 0;
  const q = new Float32Array(n * k);
  for (let s = 0; s < n; s += chunk) {
    const e = Math.min(n, s + chunk);
    q.set(
      tf.tidy(() => model.softAssign(tf.tensor2d(codes.subarray(s * d, e * d), [e - s, d])).dataSync()),
      s * k,
    );
  }
  return q;
}

/** DEC's target P from Q, over the whole set (plain numbers: f_j needs every row). */
export function targetFromAssignments(q: Float32Array, k: number): Float32Array {
  const n = q.length / k;
  const f = new Float64Array(k);
  for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) f[j]! += q[i * k + j]!;
  const p = new Float32Array(q.length);
  for (let i = 0; i < n; i++) {
    let row = 0;
    for (let j = 0; j < k; j++) row += p[i * k + j] = (q[i * k + j]! * q[i * k + j]!) / Math.max(f[j]!, 1e-12);
    for (let j = 0; j < k; j++) p[i * k + j]! /= Math.max(row, 1e-30);
  }
  return p;
}

function argmaxRows(q: Float32Array, k: number): Int32Array {
  const out = new Int32Array(q.length / k);
  for (let i = 0; i < out.length; i++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (q[i * k + j]! > q[i * k + best]!) best = j;
    out[i] = best;
  }
  return out;
}

function klOf(p: Float32Array, q: Float32Array, n: number): number {
  let sum = 0;
  for (let i = 0; i < p.length; i++) if (p[i]! > 0) sum += p[i]! * Math.log(p[i]! / Math.max(q[i]!, 1e-7));
  return sum / n;
}

/**
 * Fine-tunes `model` (its spec must have a clustering head) on all of `set`. Progress events have
 * phase 'cluster'; AppError('cancelled') when `hooks.signal` aborts.
 */
export async function finetuneClusters(
  model: Autoencoder,
  set: ImageSet,
  options: TrainOptions,
  hooks: TrainHooks = {},
  encode: EncodeSet = encodeHere,
): Promise<TrainResult> {
  const head = model.spec.clustering;
  if (!head) throw new AppError('invalid_input', 'the clustering fine-tune needs a spec with a clustering head (spec.clustering)');
  checkImageSet(set, model.spec.inputShape);
  const k = head.clusters;
  const n = set.count;
  if (n < k) throw new AppError('invalid_input', `${n} images cannot form ${k} clusters`);
  const schedule = clusterScheduleSchema.parse(options.clustering ?? {});
  const { batchSize, seed } = options;
  const d = model.latentSize;
  const centers = model.p(CENTERS);

  const initial = kmeans(await encode(model, set), n, d, { k, seed, restarts: schedule.restarts });
  const init = tf.tensor2d(initial.centroids, [k, d]);
  centers.assign(init);
  init.dispose();

  const vars = [...model.autoencoderParams, centers];
  const optimizer = createAdam(options.learningRate);
  const reconstruction = RECONSTRUCTION_LOSSES[model.spec.loss];
  const batches = Math.ceil(n / batchSize);
  const history: EpochRecord[] = [];
  let p: Float32Array = new Float32Array(n * k);
  let previous: Int32Array = initial.assignments;
  let q: Float32Array = new Float32Array(0);
  const summary = { updates: 0, steps: 0, converged: false, changed: 1, klStart: 0, klEnd: 0, sizes: [] as number[] };
  const started = performance.now();
  let images = 0;

  /** Recomputes Q and P over all images; true when the assignments have settled. */
  const updateTargets = async (): Promise<boolean> => {
    q = softAssignCodes(model, await encode(model, set));
    p = targetFromAssignments(q, k);
    const assigned = argmaxRows(q, k);
    let changed = 0;
    for (let i = 0; i < n; i++) if (assigned[i] !== previous[i]) changed++;
    summary.changed = changed / n;
    summary.klEnd = klOf(p, q, n);
    if (summary.updates === 0) summary.klStart = summary.klEnd;
    summary.updates++;
    previous = assigned;
    return summary.updates > 1 && summary.changed < schedule.tolerance;
  };

  try {
    for (let epoch = 1; epoch <= schedule.epochs && !summary.converged; epoch++) {
      const order = shuffledIndices(n, seed * 7 + 1000 + epoch);
      const epochStart = performance.now();
      let sum = 0;
      let seen = 0;
      for (let b = 0; b < batches; b++) {
        throwIfAborted(hooks.signal);
        if (summary.steps % schedule.updateInterval === 0 && (await updateTargets())) {
          summary.converged = true;
          break;
        }
        const s = b * batchSize;
        const e = Math.min(n, s + batchSize);
        const idx = order.subarray(s, e);
        const target = new Float32Array(idx.length * k);
        for (let r = 0; r < idx.length; r++) target.set(p.subarray(idx[r]! * k, (idx[r]! + 1) * k), r * k);
        const loss = tf.tidy(() => {
          const x = batchTensor(set, idx, 0, idx.length);
          const pb = tf.tensor2d(target, [idx.length, k]);
          const cost = optimizer.minimize(
            () => {
              const { code, output } = model.forward(x);
              return tf.add(
                reconstruction(output, x),
                tf.mul(head.gamma, clusteringKl(pb, model.softAssign(code as Tensor2D))),
              ) as tf.Scalar;
            },
            true,
            vars,
          );
          return cost!.dataSync()[0]!;
        });
        if (!Number.isFinite(loss))
          throw new AppError('invalid_input', `clustering fine-tune diverged (loss ${loss}); try a lower learning rate or gamma`);
        summary.steps++;
        sum += loss * idx.length;
        seen += idx.length;
        images += idx.length;
        const rate = images / Math.max((performance.now() - started) / 1000, 1e-9);
        hooks.onProgress?.({
          phase: 'cluster',
          epoch,
          epochs: schedule.epochs,
          batch: b + 1,
          batches,
          loss,
          valLoss: null,
          imagesPerSec: rate,
          etaSeconds: ((schedule.epochs - epoch) * n + (n - e)) / rate,
        });
        await nextTick();
      }
      if (seen === 0) break;
      const seconds = (performance.now() - epochStart) / 1000;
      history.push({ phase: 'cluster', epoch, loss: sum / seen, valLoss: null, imagesPerSec: seen / seconds, seconds });
      hooks.onProgress?.({
        phase: 'cluster',
        epoch,
        epochs: schedule.epochs,
        batch: batches,
        batches,
        loss: sum / seen,
        valLoss: null,
        imagesPerSec: images / ((performance.now() - started) / 1000),
        etaSeconds: (schedule.epochs - epoch) * seconds,
        epochDone: true,
      });
    }
    if (!summary.converged) await updateTargets();
  } finally {
    optimizer.dispose();
  }
  const sizes = new Array<number>(k).fill(0);
  for (const c of previous) sizes[c]!++;
  summary.sizes = sizes;
  return {
    history,
    stoppedEarly: summary.converged,
    bestEpoch: history.length,
    imagesPerSec: images / ((performance.now() - started) / 1000),
    clustering: summary,
  };
}
