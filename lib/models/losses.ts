/**
 * Losses of the autoencoder family: reconstruction (MSE, binary cross-entropy) and the sparse
 * AE's KL penalty, each as a tensor function for training and, for the KL term, a plain-number
 * version the course's examples can check by hand.
 */
import { tf, type Tensor } from '../engine/tf';

const EPS = 1e-7;

/** KL(ρ‖ρ̂) = ρ·log(ρ/ρ̂) + (1−ρ)·log((1−ρ)/(1−ρ̂)), for one unit's mean activation ρ̂. */
export function klDivergence(rho: number, rhoHat: number): number {
  const r = Math.min(Math.max(rhoHat, EPS), 1 - EPS);
  return rho * Math.log(rho / r) + (1 - rho) * Math.log((1 - rho) / (1 - r));
}

/** β·Σⱼ KL(ρ‖ρ̂ⱼ), where ρ̂ⱼ is unit j's mean activation over the batch (code: [batch, units]). */
export function sparsityPenalty(code: Tensor, rho: number, beta: number): Tensor {
  return tf.tidy(() => {
    const rhoHat = tf.clipByValue(tf.mean(code, 0), EPS, 1 - EPS);
    const kl = tf.add(tf.mul(rho, tf.log(tf.div(rho, rhoHat))), tf.mul(1 - rho, tf.log(tf.div(1 - rho, tf.sub(1, rhoHat)))));
    return tf.mul(beta, tf.sum(kl));
  });
}

/** Mean squared error over all elements. */
export function meanSquaredError(output: Tensor, target: Tensor): Tensor {
  return tf.mean(tf.squaredDifference(output, target));
}

/** Binary cross-entropy for targets and outputs in [0,1], mean over all elements. */
export function binaryCrossEntropy(output: Tensor, target: Tensor): Tensor {
  return tf.tidy(() => {
    const p = tf.clipByValue(output, EPS, 1 - EPS);
    const terms = tf.add(tf.mul(target, tf.log(p)), tf.mul(tf.sub(1, target), tf.log(tf.sub(1, p))));
    return tf.neg(tf.mean(terms));
  });
}

export const RECONSTRUCTION_LOSSES = Object.freeze({ mse: meanSquaredError, bce: binaryCrossEntropy });

/** Binary cross-entropy from logits z (stable): mean of max(z,0) − z·y + log(1 + e^−|z|). */
export function sigmoidCrossEntropy(logits: Tensor, target: Tensor): Tensor {
  return tf.tidy(() => tf.mean(tf.add(tf.sub(tf.relu(logits), tf.mul(logits, target)), tf.log1p(tf.exp(tf.neg(tf.abs(logits)))))));
}

/**
 * Soft Dice loss 1 − (2·Σp·y + 1) / (Σp + Σy + 1) over the whole batch, per channel (last axis),
 * averaged over channels. The +1 keeps it defined when a batch has no foreground.
 */
export function diceLoss(probabilities: Tensor, target: Tensor): Tensor {
  return tf.tidy(() => {
    const axes = probabilities.shape.slice(0, -1).map((_, i) => i);
    const overlap = tf.sum(tf.mul(probabilities, target), axes);
    const total = tf.add(tf.sum(probabilities, axes), tf.sum(target, axes));
    return tf.sub(1, tf.mean(tf.div(tf.add(tf.mul(2, overlap), 1), tf.add(total, 1))));
  });
}

/**
 * DEC's soft assignment (Xie et al. 2016): q_ij ∝ (1 + ‖z_i − μ_j‖²)^−1, a Student's t kernel with
 * one degree of freedom, each row normalised to sum to 1. codes [n, d], centers [k, d] → [n, k].
 */
export function softAssignments(codes: Tensor, centers: Tensor): Tensor {
  return tf.tidy(() => {
    // ‖z − μ‖² = ‖z‖² − 2 z·μ + ‖μ‖²: one matrix product instead of an [n, k, d] difference.
    const zz = tf.sum(tf.square(codes), 1, true);
    const mm = tf.reshape(tf.sum(tf.square(centers), 1), [1, -1]);
    const d2 = tf.relu(tf.add(tf.sub(zz, tf.mul(2, tf.matMul(codes, centers, false, true))), mm));
    const kernel = tf.reciprocal(tf.add(1, d2));
    return tf.div(kernel, tf.sum(kernel, 1, true));
  });
}

/**
 * DEC's target distribution: p_ij = (q_ij² / f_j) / Σ_j' (q_ij'² / f_j'), f_j = Σ_i q_ij. Squaring
 * sharpens confident assignments; dividing by the soft cluster size f_j keeps large clusters from
 * swallowing the rest. Computed over the whole set and held fixed between updates.
 */
export function targetDistribution(q: Tensor): Tensor {
  return tf.tidy(() => {
    const weight = tf.div(tf.square(q), tf.sum(q, 0, true));
    return tf.div(weight, tf.sum(weight, 1, true));
  });
}

/**
 * Scatter of the labelled codes around their clusters' centres over the batch's scatter around
 * its mean: k-means' objective for a given partition, made scale-free so that shrinking the codes
 * (which the decoder can undo) cannot lower it. Unlike a Student-t kernel, whose pull fades with
 * distance, it pulls hardest on the codes farthest from their centre, the ones k-means would give
 * to another cluster. codes [n, d], centers [k, d], p [n, k]: one-hot rows, zero rows for images
 * without a label (left out of the numerator).
 */
export function scatterRatio(codes: Tensor, centers: Tensor, p: Tensor): Tensor {
  return tf.tidy(() => {
    const labelled = tf.sum(p, 1);
    const within = tf.div(
      tf.sum(tf.mul(labelled, tf.sum(tf.square(tf.sub(codes, tf.matMul(p, centers))), 1))),
      tf.maximum(tf.sum(labelled), 1),
    );
    // tf.sub, not tf.squaredDifference: the latter's gradient does not reduce over broadcast axes.
    const total = tf.mean(tf.sum(tf.square(tf.sub(codes, tf.mean(codes, 0, true))), 1));
    return tf.div(within, tf.maximum(total, EPS));
  });
}

/** KL(P‖Q) = Σ_ij p_ij log(p_ij / q_ij), averaged over the rows (DEC's clustering loss; Keras 'kld'). */
export function clusteringKl(p: Tensor, q: Tensor): Tensor {
  return tf.tidy(() => {
    const pc = tf.clipByValue(p, EPS, 1);
    const qc = tf.clipByValue(q, EPS, 1);
    return tf.div(tf.sum(tf.mul(pc, tf.log(tf.div(pc, qc)))), p.shape[0]!);
  });
}
