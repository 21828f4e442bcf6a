/**
 * Two-view losses: the codes of two augmented views of one image should agree, and the codes of
 * different images should not collapse onto one point. Three families, selectable by name:
 *
 * - NT-Xent (SimCLR, Chen et al. 2020): each view must pick its partner out of the 2N−1 other
 *   views of the batch by cosine similarity / temperature; the other images are the negatives.
 * - VICReg (Bardes et al. 2022): invariance (MSE between the views), variance (a hinge keeping each
 *   dimension's std over the batch ≥ 1) and covariance (off-diagonal covariances → 0); no negatives.
 * - SimSiam (Chen & He 2021): a predictor's output of one view matches the other view's projection,
 *   with the gradient stopped on the target; collapse is avoided by the stop-gradient, not the loss.
 *
 * Each takes the projections [n, d] of view 1 and view 2 (SimSiam also the predictions) and
 * returns a scalar; called inside the training step's tape.
 */
import { AppError } from '../errors';
import { tf, type Tensor2D } from '../engine/tf';

export const CONTRASTIVE_LOSSES = Object.freeze(['ntxent', 'vicreg', 'simsiam'] as const);
export type ContrastiveLoss = (typeof CONTRASTIVE_LOSSES)[number];

const EPS = 1e-8;

/** The identity with a zero gradient (tfjs has no stopGradient op). */
const stopGradient = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
  value: tf.clone(args[0] as tf.Tensor),
  gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
}));

/** Rows scaled to unit length; the ε inside the root keeps the gradient finite at a zero row. */
function normalizeRows(z: Tensor2D): Tensor2D {
  return tf.div(z, tf.sqrt(tf.add(tf.sum(tf.square(z), 1, true), EPS)));
}

/**
 * NT-Xent over the 2N views: mean over views of −log( exp(s_pos/τ) / Σ_{k≠self} exp(s_k/τ) ), s the
 * cosine similarity. Its lower bound for N images is reached by identical views spread as a regular
 * simplex; a collapsed batch (every code equal) scores log(2N − 1).
 */
export function ntXentLoss(z1: Tensor2D, z2: Tensor2D, temperature: number): tf.Scalar {
  return tf.tidy(() => {
    const n = z1.shape[0];
    const z = normalizeRows(tf.concat([z1, z2], 0));
    const logits = tf.div(tf.matMul(z, z, false, true), temperature);
    // Self-similarity removed from the softmax by a large negative on the diagonal.
    const masked = tf.sub(logits, tf.mul(tf.eye(2 * n), 1e9));
    const positives = tf.div(tf.sum(tf.mul(z.slice([0, 0], [n, -1]), z.slice([n, 0], [n, -1])), 1), temperature);
    const logSumExp = tf.logSumExp(masked, 1);
    return tf.mean(tf.sub(logSumExp, tf.concat([positives, positives], 0))) as tf.Scalar;
  });
}

/**
 * Debiased NT-Xent (DCL, Chuang et al. 2020): NT-Xent whose negatives are corrected for the share
 * `prior` (τ⁺) of them that are in truth the anchor's own kind. With N images of k kinds about
 * 1/k of a batch's "negatives" show the same kind of thing (a 100-photo library of 5 species:
 * a fifth of them), and plain NT-Xent pushes those apart as hard as the rest. The negatives'
 * mean exp-similarity is replaced by its estimate over true negatives,
 * g = max((mean_neg e^{s/τ} − τ⁺·e^{s_pos/τ}) / (1 − τ⁺), e^{−1/τ}), and the loss is
 * mean over views of −log( e^{s_pos/τ} / (e^{s_pos/τ} + (2N − 2)·g) ). `prior` 0 is `ntXentLoss`.
 */
export function debiasedNtXentLoss(z1: Tensor2D, z2: Tensor2D, temperature: number, prior: number): tf.Scalar {
  if (prior < 0 || prior >= 1) throw new AppError('internal', `the debiasing prior must lie in [0, 1), got ${prior}`);
  if (prior === 0) return ntXentLoss(z1, z2, temperature);
  return tf.tidy(() => {
    const n = z1.shape[0];
    const negatives = 2 * n - 2;
    const z = normalizeRows(tf.concat([z1, z2], 0));
    const expSim = tf.exp(tf.div(tf.matMul(z, z, false, true), temperature));
    const partner = tf.concat([tf.concat([tf.zeros([n, n]), tf.eye(n)], 1), tf.concat([tf.eye(n), tf.zeros([n, n])], 1)], 0);
    const negativeMask = tf.sub(tf.sub(1, tf.eye(2 * n)), partner);
    const positives = tf.div(tf.sum(tf.mul(z.slice([0, 0], [n, -1]), z.slice([n, 0], [n, -1])), 1), temperature);
    const pos = tf.concat([positives, positives], 0);
    const negMean = tf.div(tf.sum(tf.mul(expSim, negativeMask), 1), negatives);
    const corrected = tf.div(tf.sub(negMean, tf.mul(prior, tf.exp(pos))), 1 - prior);
    const g = tf.maximum(corrected, Math.exp(-1 / temperature));
    return tf.mean(tf.sub(tf.log(tf.add(tf.exp(pos), tf.mul(negatives, g))), pos)) as tf.Scalar;
  });
}

/**
 * NT-Xent over V ≥ 2 views of each image (multi-crop; SupCon's multi-positive form, Khosla et al.
 * 2020): every view is an anchor whose positives are the image's other views, except that two
 * small crops are not each other's positives (DINO's rule: a small crop is matched with the
 * `globals` full views only); the negatives are all other views of the batch. The loss is the mean
 * over anchors of −(1/|P|) Σ_{p∈P} log( exp(s_p/τ) / Σ_{k≠self} exp(s_k/τ) ). With two views it is
 * `ntXentLoss` exactly.
 */
export function multiViewNtXentLoss(views: readonly Tensor2D[], temperature: number, globals = views.length): tf.Scalar {
  if (views.length < 2) throw new AppError('internal', `multi-view NT-Xent needs at least two views, got ${views.length}`);
  return tf.tidy(() => {
    const n = views[0]!.shape[0];
    const total = views.length * n;
    const z = normalizeRows(tf.concat([...views], 0));
    const logits = tf.sub(tf.div(tf.matMul(z, z, false, true), temperature), tf.mul(tf.eye(total), 1e9));
    const logProb = tf.sub(logits, tf.logSumExp(logits, 1, true));
    const mask = new Float32Array(total * total);
    for (let a = 0; a < views.length; a++) {
      const positives = Array.from({ length: views.length }, (_, b) => b).filter((b) => b !== a && (a < globals || b < globals));
      for (const b of positives) for (let i = 0; i < n; i++) mask[(a * n + i) * total + b * n + i] = 1 / positives.length;
    }
    return tf.neg(tf.div(tf.sum(tf.mul(logProb, tf.tensor2d(mask, [total, total]))), total)) as tf.Scalar;
  });
}

/**
 * Nearest-neighbour positives (NNCLR, Dwibedi et al. 2021): each view is replaced by its nearest
 * neighbour among the `support` rows (the batch's clean images, gradient stopped, the image's own
 * row left out), which must then pick the image's other view out of the batch's: cross-entropy over
 * cos(nn(z1_i), z2_k)/τ with target k = i, and the same with the views swapped. So images are
 * pulled towards what their nearest *other* image shows, which augmentations alone cannot teach.
 */
export function neighbourLoss(z1: Tensor2D, z2: Tensor2D, support: Tensor2D, temperature: number): tf.Scalar {
  return tf.tidy(() => {
    const n = z1.shape[0];
    const s = normalizeRows(stopGradient(support) as Tensor2D);
    const targets = tf.oneHot(tf.range(0, n, 1, 'int32'), n);
    const direction = (anchor: Tensor2D, other: Tensor2D) => {
      const a = normalizeRows(anchor);
      // The image's own support row is left out: its nearest neighbour is always another image.
      const nearest = tf.argMax(tf.sub(tf.matMul(a, s, false, true), tf.mul(tf.eye(n), 1e9)), 1);
      // A one-hot product rather than a gather: gather's gradient needs a kernel wasm lacks.
      const positive = tf.matMul(tf.oneHot(nearest, n), s);
      const logits = tf.div(tf.matMul(positive, normalizeRows(other), false, true), temperature);
      return tf.losses.softmaxCrossEntropy(targets, logits);
    };
    return tf.mul(0.5, tf.add(direction(z1, z2), direction(z2, z1))) as tf.Scalar;
  });
}

/**
 * i-Mix's contrastive loss (Lee et al. 2021, N-pair form): each mixed view (image k blended with
 * image `partners[k]` at weight `weights[k]`, `mixViews`) must pick the other views of *both* its
 * images out of the batch, in proportion to their weights: cross-entropy between
 * softmax_j(cos(z_mixed_k, z2_j)/τ) and the soft target λ_k·[j = k] + (1 − λ_k)·[j = partners[k]].
 * A regulariser for contrastive learning on small collections, where instance discrimination
 * alone overfits (the paper's largest gains are with the least data).
 */
export function mixedNtXentLoss(
  mixed: Tensor2D,
  z2: Tensor2D,
  weights: Float32Array,
  partners: Int32Array,
  temperature: number,
): tf.Scalar {
  const n = mixed.shape[0];
  if (weights.length !== n || partners.length !== n)
    throw new AppError(
      'internal',
      `i-Mix needs a weight and a partner per view: ${n} views, ${weights.length} weights, ${partners.length} partners`,
    );
  const targets = new Float32Array(n * n);
  for (let k = 0; k < n; k++) {
    const partner = k * n + partners[k]!;
    targets[k * n + k] = weights[k]!;
    targets[partner] = targets[partner]! + 1 - weights[k]!;
  }
  return tf.tidy(() => {
    const logits = tf.div(tf.matMul(normalizeRows(mixed), normalizeRows(z2), false, true), temperature);
    const logProb = tf.sub(logits, tf.logSumExp(logits, 1, true));
    return tf.neg(tf.div(tf.sum(tf.mul(logProb, tf.tensor2d(targets, [n, n]))), n)) as tf.Scalar;
  });
}

/** VICReg's weights (the paper's λ = μ = 25, ν = 1) and its variance hinge's target std. */
export const VICREG = Object.freeze({ invariance: 25, variance: 25, covariance: 1, std: 1 });

function varianceHinge(z: Tensor2D): tf.Tensor {
  const centred = tf.sub(z, tf.mean(z, 0, true));
  const std = tf.sqrt(tf.add(tf.div(tf.sum(tf.square(centred), 0), Math.max(1, z.shape[0] - 1)), 1e-4));
  return tf.mean(tf.relu(tf.sub(VICREG.std, std)));
}

function offDiagonalCovariance(z: Tensor2D): tf.Tensor {
  const [n, d] = z.shape;
  const centred = tf.sub(z, tf.mean(z, 0, true));
  const cov = tf.div(tf.matMul(centred, centred, true, false), Math.max(1, n - 1));
  const offDiagonal = tf.mul(cov, tf.sub(1, tf.eye(d)));
  return tf.div(tf.sum(tf.square(offDiagonal)), d);
}

/** VICReg: λ·MSE(z1, z2) + μ·(variance hinge of both) + ν·(off-diagonal covariance of both). */
export function vicregLoss(z1: Tensor2D, z2: Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const invariance = tf.mean(tf.square(tf.sub(z1, z2)));
    const variance = tf.add(varianceHinge(z1), varianceHinge(z2));
    const covariance = tf.add(offDiagonalCovariance(z1), offDiagonalCovariance(z2));
    return tf.addN([
      tf.mul(VICREG.invariance, invariance),
      tf.mul(VICREG.variance, variance),
      tf.mul(VICREG.covariance, covariance),
    ]) as tf.Scalar;
  });
}

/** SimSiam: −½(cos(p1, sg(z2)) + cos(p2, sg(z1))), p the predictor's outputs; minimum −1. */
export function simSiamLoss(p1: Tensor2D, p2: Tensor2D, z1: Tensor2D, z2: Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const cosine = (p: Tensor2D, z: Tensor2D) => tf.mean(tf.sum(tf.mul(normalizeRows(p), normalizeRows(stopGradient(z) as Tensor2D)), 1));
    return tf.mul(-0.5, tf.add(cosine(p1, z2), cosine(p2, z1))) as tf.Scalar;
  });
}
