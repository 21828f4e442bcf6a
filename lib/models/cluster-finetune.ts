/**
 * The clustering fine-tune of a model with a clustering head (IDEC, Guo et al. 2017, which keeps
 * DEC's objective, Xie et al. 2016, next to the reconstruction): the centres start from k-means
 * on the trained autoencoder's codes; then encoder, decoder and centres minimise
 * reconstruction + gamma·KL(P‖Q), where Q are Student-t soft assignments of the codes to the
 * centres and P is Q sharpened (q²/cluster size), recomputed over all images every
 * `updateInterval` batches. No labels are used. It stops when fewer than `tolerance` of the
 * images change cluster between two updates, or after `epochs` passes.
 *
 * With target 'fixed' it self-labels instead (as the last step of SCAN, Van Gansbeke et al. 2020):
 * P is the starting partition itself, one-hot, for the images with the largest centre margins
 * (zero rows for the rest), held fixed, and the clustering loss is the labelled codes' scatter
 * round their centres over the batch's, so the codes learn the start's clusters; IDEC's own P
 * drifts from a better start (N2D's) back towards the clusters the centres draw in the code space.
 */
import { AppError } from '../errors';
import { balancedKmeans } from '../clustering/balanced-kmeans';
import { kmeans } from '../clustering/kmeans';
import { umapFromNeighbors } from '../clustering/umap';
import { exactKnn } from '../engine/linear-algebra';
import { tf, type Tensor2D, type Tensor4D } from '../engine/tf';
import { CENTERS, type Autoencoder } from './autoencoder';
import { batchTensor, checkImageSet, type ImageSet } from '../data/image-set';
import { encodeImages } from './inference';
import { clusteringKl, RECONSTRUCTION_LOSSES, scatterRatio } from './losses';
import { clusterScheduleSchema, twoViewLoss, type ClusterSchedule, type TrainOptions, type TrainResult } from './train';
import { augmentImages, viewPolicy } from './views';
import {
  allIndices,
  fit,
  localRunner,
  type EpochRecord,
  type FitPlan,
  type Objective,
  type StepContext,
  type StepLoss,
  type TrainHooks,
} from '../training/fit';
import { shuffledIndices } from '../random';

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

/**
 * The images that carry pseudo-labels: in each cluster, the `share` with the highest confidence
 * (at least one per non-empty cluster). Returns a 0/1 mask.
 */
export function confidentSubset(assignments: Int32Array, confidence: Float32Array, k: number, share: number): Uint8Array {
  const members: number[][] = Array.from({ length: k }, () => []);
  assignments.forEach((c, i) => members[c]!.push(i));
  const mask = new Uint8Array(assignments.length);
  for (const cluster of members) {
    cluster.sort((a, b) => confidence[b]! - confidence[a]!);
    for (const i of cluster.slice(0, Math.ceil(share * cluster.length))) mask[i] = 1;
  }
  return mask;
}

/**
 * How much closer each point sits to its own centre than to the nearest other one (Euclidean
 * distance to the nearest other centre minus that to its own; negative where another centre is
 * closer). On an N2D partition of Fashion-MNIST, the half of each cluster with the largest margin
 * was purer than the half nearest the centre (README).
 */
export function centreMargins(points: ArrayLike<number>, dim: number, centres: ArrayLike<number>, assignments: Int32Array): Float32Array {
  const k = centres.length / dim;
  const margins = new Float32Array(assignments.length);
  for (let i = 0; i < assignments.length; i++) {
    let own = 0;
    let other = Infinity;
    for (let c = 0; c < k; c++) {
      let s = 0;
      for (let j = 0; j < dim; j++) s += (points[i * dim + j]! - centres[c * dim + j]!) ** 2;
      if (c === assignments[i]) own = s;
      else other = Math.min(other, s);
    }
    margins[i] = Math.sqrt(other) - Math.sqrt(own);
  }
  return margins;
}

/** Fixed targets P [n × k]: one-hot rows of the assignments where `labelled`, zero rows elsewhere. */
export function pseudoLabelTargets(assignments: Int32Array, labelled: Uint8Array, k: number): Float32Array {
  const p = new Float32Array(assignments.length * k);
  assignments.forEach((c, i) => {
    if (labelled[i]) p[i * k + c] = 1;
  });
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

/** Where the fine-tune stands, reported after each epoch. */
export interface ClusterState {
  updates: number;
  changed: number;
  klStart: number;
  klEnd: number;
  converged: boolean;
}

/**
 * Where the fine-tune's steps start: the starting partition and, with target 'fixed', which
 * images carry its labels (null: DEC's own targets).
 */
export interface ClusterStart {
  assignments: Int32Array;
  labelled: Uint8Array | null;
}

/**
 * The target distribution P of every image and the stopping rule, kept identically by the local
 * loop and by each worker thread (all compute it from the same Q).
 */
export class ClusterTargets {
  private p: Float32Array = new Float32Array(0);
  private previous: Int32Array;
  private readonly fixed: boolean;
  readonly state: ClusterState = { updates: 0, changed: 1, klStart: 0, klEnd: 0, converged: false };

  constructor(
    readonly k: number,
    readonly tolerance: number,
    start: ClusterStart,
  ) {
    this.previous = start.assignments;
    this.fixed = start.labelled !== null;
    if (start.labelled) this.p = pseudoLabelTargets(start.assignments, start.labelled, k);
  }

  /** New P from Q over all images (fixed targets keep theirs); true (and `state.converged`) once assignments have settled. */
  update(q: Float32Array): boolean {
    const n = q.length / this.k;
    if (!this.fixed) this.p = targetFromAssignments(q, this.k);
    const assigned = argmaxRows(q, this.k);
    let changed = 0;
    for (let i = 0; i < n; i++) if (assigned[i] !== this.previous[i]) changed++;
    let kl = 0;
    for (let i = 0; i < q.length; i++) if (this.p[i]! > 0) kl += this.p[i]! * Math.log(this.p[i]! / Math.max(q[i]!, 1e-7));
    const s = this.state;
    s.changed = changed / n;
    s.klEnd = kl / n;
    if (s.updates === 0) s.klStart = s.klEnd;
    s.updates++;
    this.previous = assigned;
    s.converged = s.updates > 1 && s.changed < this.tolerance;
    return s.converged;
  }

  /** P's rows for a batch of image indices, as a tensor [batch, k]. */
  rows(indices: ArrayLike<number>): Tensor2D {
    const out = new Float32Array(indices.length * this.k);
    for (let r = 0; r < indices.length; r++) {
      const i = indices[r]!;
      out.set(this.p.subarray(i * this.k, (i + 1) * this.k), r * this.k);
    }
    return tf.tensor2d(out, [indices.length, this.k]);
  }

  /** Images per cluster by the last update's hard assignments. */
  sizes(): number[] {
    const sizes = new Array<number>(this.k).fill(0);
    for (const c of this.previous) sizes[c]!++;
    return sizes;
  }
}

/**
 * The batch objective for images `x` whose target rows are `p`: IDEC's reconstruction +
 * gamma·KL(P‖Q) for target 'self'; for 'fixed', reconstruction + gamma·(scatter of the labelled
 * codes around their centres / the batch's scatter), k-means' own objective for the pseudo-labels.
 */
export function clusterObjective(model: Autoencoder, target: ClusterSchedule['target'] = 'self') {
  const head = model.spec.clustering;
  if (!head) throw new AppError('invalid_input', 'the clustering fine-tune needs a spec with a clustering head (spec.clustering)');
  const clustering = clusteringLoss(model, target);
  return (x: Tensor4D, p: Tensor2D): tf.Scalar => {
    const code = model.encode(x);
    return tf.add(reconstructionOf(model, code, x), tf.mul(head.gamma, clustering(code, p))) as tf.Scalar;
  };
}

/** The reconstruction term of the fine-tune (the spec's loss; no sparsity penalty, as IDEC). */
function reconstructionOf(model: Autoencoder, code: Tensor2D, x: Tensor4D): tf.Scalar {
  return RECONSTRUCTION_LOSSES[model.spec.loss](model.decode(code), x) as tf.Scalar;
}

/** The clustering term on codes whose target rows are `p`: scatter ratio for 'fixed' targets, KL(P‖Q) for 'self'. */
function clusteringLoss(model: Autoencoder, target: ClusterSchedule['target']) {
  return (code: Tensor2D, p: Tensor2D): tf.Scalar =>
    (target === 'fixed' ? scatterRatio(code, model.p(CENTERS), p) : clusteringKl(p, model.softAssign(code))) as tf.Scalar;
}

/**
 * With a two-view objective in the spec, the fine-tune keeps it (SCAN's self-labelling keeps the
 * augmentations too, Van Gansbeke et al. 2020): reconstruction + gamma·clustering on the clean
 * codes + weight·the two-view loss of two views of each image, so pulling the codes into the
 * start's clusters does not undo what the views taught them. One encoder pass over all three.
 */
function clusterWithViewsObjective(model: Autoencoder, set: ImageSet, target: ClusterSchedule['target']) {
  const head = model.spec.clustering!;
  const contrastive = model.spec.contrastive!;
  const policy = viewPolicy(contrastive.views, contrastive.jitter);
  const clustering = clusteringLoss(model, target);
  return (ctx: StepContext, x: Tensor4D, p: Tensor2D): StepLoss => {
    const n = ctx.indices.length;
    const view = (v: number) =>
      tf.tensor4d(augmentImages(set, ctx.indices, policy, ctx.seed, ctx.offset, v), [n, set.height, set.width, set.channels]);
    const codes = model.encode(tf.concat([x, view(0), view(1)], 0));
    const code = codes.slice([0, 0], [n, -1]);
    const reconstruction = reconstructionOf(model, code, x);
    const cluster = clustering(code, p);
    const twoView = twoViewLoss(model, [codes.slice([n, 0], [n, -1]), codes.slice([2 * n, 0], [n, -1])]);
    const total = tf.addN([reconstruction, tf.mul(head.gamma, cluster), tf.mul(contrastive.weight, twoView)]) as tf.Scalar;
    return { total, parts: { reconstruction, clustering: cluster, contrastive: twoView } };
  };
}

/** Images embedded by UMAP when the centres start from an N2D clustering (the rest follow by vote). */
const UMAP_SAMPLE = 10_000;
const UMAP_NEIGHBOURS = 20;

/** A partition of the images, and how firmly each belongs to its cluster (larger: firmer). */
export interface StartPartition {
  assignments: Int32Array;
  confidence: Float32Array;
}

/**
 * A starting partition as N2D (McConville et al. 2019) finds it: UMAP of (a sample of) the codes to
 * k dimensions, k-means there, and every other image takes the majority cluster of its 10 nearest
 * sampled codes. UMAP follows the manifold that k-means in the code space cuts across. With
 * `balanced`, the k-means is balanced (equal cluster sizes). An image's confidence: the centre
 * margin, in the UMAP, of the mean position of its 10 sampled codes.
 */
async function umapPartition(
  codes: Float32Array,
  d: number,
  k: number,
  seed: number,
  schedule: Pick<ClusterSchedule, 'restarts' | 'balanced'>,
): Promise<StartPartition> {
  const n = codes.length / d;
  const sample = shuffledIndices(n, seed).subarray(0, Math.min(n, UMAP_SAMPLE));
  const s = sample.length;
  const sampled = new Float32Array(s * d);
  sample.forEach((i, r) => sampled.set(codes.subarray(i * d, (i + 1) * d), r * d));
  const neighbours = Math.min(UMAP_NEIGHBOURS, s - 1);
  const knn = exactKnn(sampled, s, sampled, s, d, neighbours, { skipSelf: true });
  const distances = Float32Array.from(knn.distances, (v) => Math.sqrt(Math.max(v, 0)));
  const embedded = await umapFromNeighbors(sampled, s, d, knn.indices, distances, neighbours, {
    components: k,
    neighbors: neighbours,
    minDist: 0,
    seed,
  });
  const options = { k, seed, restarts: schedule.restarts };
  const { assignments: sampleClusters, centroids } = schedule.balanced
    ? balancedKmeans(embedded, s, k, options)
    : kmeans(embedded, s, k, options);
  const votes = Math.min(10, s);
  const nearest = exactKnn(codes, n, sampled, s, d, votes);
  const out = new Int32Array(n);
  const positions = new Float32Array(n * k);
  const count = new Int32Array(k);
  for (let i = 0; i < n; i++) {
    count.fill(0);
    for (let j = 0; j < votes; j++) {
      const r = nearest.indices[i * votes + j]!;
      count[sampleClusters[r]!]!++;
      for (let c = 0; c < k; c++) positions[i * k + c]! += embedded[r * k + c]! / votes;
    }
    let best = 0;
    for (let c = 1; c < k; c++) if (count[c]! > count[best]!) best = c;
    out[i] = best;
  }
  return { assignments: out, confidence: centreMargins(positions, k, centroids, out) };
}

/**
 * Initial centres, written into the model: by default k-means (restarts, seeded) on the codes;
 * with `init: 'umap'`, the mean code of each cluster of an N2D partition. Returns the partition
 * (for k-means, confidence is the centre margin in the code space).
 */
export async function initCenters(
  model: Autoencoder,
  codes: Float32Array,
  seed: number,
  schedule: Pick<ClusterSchedule, 'restarts' | 'init' | 'balanced'>,
): Promise<StartPartition> {
  const k = model.spec.clustering!.clusters;
  const d = model.latentSize;
  let centroids: Float32Array;
  let assignments: Int32Array;
  let confidence: Float32Array;
  if (schedule.init === 'umap') {
    ({ assignments, confidence } = await umapPartition(codes, d, k, seed, schedule));
    const sums = new Float64Array(k * d);
    const sizes = new Int32Array(k);
    for (let i = 0; i < assignments.length; i++) {
      const c = assignments[i]!;
      sizes[c]!++;
      for (let j = 0; j < d; j++) sums[c * d + j]! += codes[i * d + j]!;
    }
    // A cluster no image voted for starts at a k-means centre instead.
    const fallback = sizes.some((n) => n === 0) ? kmeans(codes, codes.length / d, d, { k, seed, restarts: 1 }).centroids : null;
    centroids = Float32Array.from(sums, (v, i) => (sizes[Math.floor(i / d)]! > 0 ? v / sizes[Math.floor(i / d)]! : fallback![i]!));
  } else {
    ({ centroids, assignments } = kmeans(codes, codes.length / d, d, { k, seed, restarts: schedule.restarts }));
    confidence = centreMargins(codes, d, centroids, assignments);
  }
  const init = tf.tensor2d(centroids, [k, d]);
  model.p(CENTERS).assign(init);
  init.dispose();
  return { assignments, confidence };
}

/** Runs the fine-tune's steps in other threads (the worker pool); the model receives the result. */
export interface ClusterRunner {
  encode: EncodeSet;
  fit(model: Autoencoder, set: ImageSet, options: TrainOptions, hooks: TrainHooks, start: ClusterStart): Promise<LoopResult>;
}

interface LoopResult {
  history: EpochRecord[];
  steps: number;
  state: ClusterState;
}

/**
 * The fine-tune as an objective: before every `updateInterval`-th step the targets P are
 * recomputed from `assignAll()` (the soft assignments of every image: computed here, or by all
 * worker replicas together), which also stops the run once assignments settle; each step
 * minimises `clusterObjective` on its images and their rows of P. `state` reports the targets.
 */
export function clusterFinetuneObjective(
  model: Autoencoder,
  set: ImageSet,
  options: TrainOptions,
  start: ClusterStart,
  assignAll: () => Float32Array,
): Objective & { readonly state: ClusterState } {
  const schedule = clusterScheduleSchema.parse(options.clustering ?? {});
  const targets = new ClusterTargets(model.spec.clustering!.clusters, schedule.tolerance, start);
  const objective = clusterObjective(model, schedule.target);
  const withViews = model.spec.contrastive?.weight ? clusterWithViewsObjective(model, set, schedule.target) : null;
  return {
    vars: [...model.autoencoderParams, ...(withViews ? model.projectionParams : []), model.p(CENTERS)],
    state: targets.state,
    beforeStep: (ctx) => ctx.step % schedule.updateInterval === 0 && targets.update(assignAll()),
    loss: (ctx) => {
      const x = batchTensor(set, ctx.indices, 0, ctx.indices.length);
      const p = targets.rows(ctx.indices);
      return withViews && ctx.training ? withViews(ctx, x, p) : { total: objective(x, p) };
    },
  };
}

/** The fine-tune's run: every image, no validation, the schedule's epochs and batches. */
export function clusterPlan(count: number, options: TrainOptions): FitPlan {
  const schedule = clusterScheduleSchema.parse(options.clustering ?? {});
  return {
    phase: 'cluster',
    train: allIndices(count),
    val: new Int32Array(0),
    epochs: schedule.epochs,
    batchSize: schedule.batchSize,
    seed: options.seed,
    label: 'clustering fine-tune',
    advice: 'try a lower learning rate or gamma',
  };
}

/** The fine-tune's steps in this thread. */
async function fitHere(
  model: Autoencoder,
  set: ImageSet,
  options: TrainOptions,
  hooks: TrainHooks,
  start: ClusterStart,
): Promise<LoopResult> {
  const objective = clusterFinetuneObjective(model, set, options, start, () => softAssignCodes(model, encodeImages(model, set)));
  const history: EpochRecord[] = [];
  const { steps } = await fit(
    localRunner(objective, { learningRate: options.learningRate }),
    clusterPlan(set.count, options),
    hooks,
    history,
  );
  return { history, steps, state: objective.state };
}

/**
 * Fine-tunes `model` (its spec must have a clustering head) on all of `set`, in this thread or,
 * given a `runner`, in worker threads. Progress events have phase 'cluster';
 * AppError('cancelled') when `hooks.signal` aborts.
 */
export async function finetuneClusters(
  model: Autoencoder,
  set: ImageSet,
  options: TrainOptions,
  hooks: TrainHooks = {},
  runner?: ClusterRunner,
): Promise<TrainResult> {
  const head = model.spec.clustering;
  if (!head) throw new AppError('invalid_input', 'the clustering fine-tune needs a spec with a clustering head (spec.clustering)');
  checkImageSet(set, model.spec.inputShape);
  if (set.count < head.clusters) throw new AppError('invalid_input', `${set.count} images cannot form ${head.clusters} clusters`);
  const schedule = clusterScheduleSchema.parse(options.clustering ?? {});
  const encode = runner?.encode ?? encodeHere;
  const started = performance.now();
  const partition = await initCenters(model, await encode(model, set), options.seed, schedule);
  const start: ClusterStart = {
    assignments: partition.assignments,
    labelled:
      schedule.target === 'fixed' ? confidentSubset(partition.assignments, partition.confidence, head.clusters, schedule.confident) : null,
  };
  const loop = await (runner ? runner.fit(model, set, options, hooks, start) : fitHere(model, set, options, hooks, start));
  // One last look at the final assignments, for the summary.
  const final = new ClusterTargets(head.clusters, schedule.tolerance, start);
  final.update(softAssignCodes(model, await encode(model, set)));
  const images = loop.history.reduce((n, h) => n + h.imagesPerSec * h.seconds, 0);
  return {
    history: loop.history,
    stoppedEarly: loop.state.converged,
    bestEpoch: loop.history.length,
    imagesPerSec: images / ((performance.now() - started) / 1000),
    clustering: {
      updates: loop.state.updates,
      steps: loop.steps,
      converged: loop.state.converged,
      changed: loop.state.changed,
      klStart: loop.state.klStart,
      klEnd: final.state.klEnd,
      sizes: final.sizes(),
    },
  };
}
