/**
 * Segmentation quality as plain numbers, no tensors and no I/O: a confusion matrix over pixels,
 * IoU per class, mean IoU, pixel accuracy and the mean squared error of the probability map, as
 * in Yuan et al. (2019), who judge segmentation by mIoU and mMse. Labels are class indices
 * (0 = background); probability maps have one channel (binary: p(foreground)) or one per class.
 */

export interface SegmentationScores {
  /** Mean of the per-class IoUs over the classes present in truth or prediction. */
  miou: number;
  /** Mean over images of the per-image mean squared error of the probability map. */
  mmse: number;
  /** Share of pixels whose predicted class is the true one. */
  pixel_acc: number;
  /** IoU of each class; null for a class absent from both truth and prediction. */
  iou: (number | null)[];
}

/** Pixel counts, row = true class, column = predicted class, row-major `classes × classes`. */
export function confusionMatrix(truth: ArrayLike<number>, predicted: ArrayLike<number>, classes: number): Float64Array {
  if (truth.length !== predicted.length) throw new Error(`truth has ${truth.length} pixels, prediction ${predicted.length}`);
  const matrix = new Float64Array(classes * classes);
  for (let i = 0; i < truth.length; i++) {
    const t = truth[i]!;
    const p = predicted[i]!;
    if (t < 0 || t >= classes || p < 0 || p >= classes)
      throw new Error(`class ${t < 0 || t >= classes ? t : p} is outside 0..${classes - 1}`);
    matrix[t * classes + p]! += 1;
  }
  return matrix;
}

function classesOf(matrix: Float64Array): number {
  const classes = Math.round(Math.sqrt(matrix.length));
  if (classes * classes !== matrix.length) throw new Error(`a confusion matrix of ${matrix.length} cells is not square`);
  return classes;
}

/** IoU_c = TP / (TP + FP + FN) per class; null where the class is in neither truth nor prediction. */
export function iouPerClass(matrix: Float64Array): (number | null)[] {
  const classes = classesOf(matrix);
  return Array.from({ length: classes }, (_, c) => {
    let row = 0;
    let column = 0;
    for (let k = 0; k < classes; k++) {
      row += matrix[c * classes + k]!;
      column += matrix[k * classes + c]!;
    }
    const tp = matrix[c * classes + c]!;
    const union = row + column - tp;
    return union === 0 ? null : tp / union;
  });
}

/** Mean IoU over the classes that occur (background included, as in the segmentation literature). */
export function meanIou(matrix: Float64Array): number {
  const defined = iouPerClass(matrix).filter((v): v is number => v !== null);
  return defined.length ? defined.reduce((a, b) => a + b, 0) / defined.length : 1;
}

/** Share of correctly classified pixels. */
export function pixelAccuracy(matrix: Float64Array): number {
  const classes = classesOf(matrix);
  let correct = 0;
  let total = 0;
  for (let i = 0; i < matrix.length; i++) {
    total += matrix[i]!;
    if (i % (classes + 1) === 0) correct += matrix[i]!;
  }
  return total === 0 ? 1 : correct / total;
}

/**
 * Mean squared error between a probability map and the one-hot truth, over pixels and classes.
 * `channels` 1: `probabilities[i]` is p(foreground) and the error is (p − [truth > 0])² — the same
 * number as the two-channel form, since both channels miss by the same amount.
 */
export function probabilityMse(probabilities: ArrayLike<number>, truth: ArrayLike<number>, channels: number): number {
  if (probabilities.length !== truth.length * channels)
    throw new Error(`${probabilities.length} probabilities for ${truth.length} pixels × ${channels} channel(s)`);
  let sum = 0;
  for (let i = 0; i < truth.length; i++) {
    if (channels === 1) {
      const d = probabilities[i]! - (truth[i]! > 0 ? 1 : 0);
      sum += d * d;
    } else {
      for (let c = 0; c < channels; c++) {
        const d = probabilities[i * channels + c]! - (truth[i] === c ? 1 : 0);
        sum += d * d;
      }
    }
  }
  return truth.length === 0 ? 0 : sum / (truth.length * channels);
}

/** Class of each pixel: p > 0.5 for one channel, the most probable class otherwise. */
export function classesFromProbabilities(probabilities: ArrayLike<number>, channels: number): Uint8Array {
  const pixels = probabilities.length / channels;
  const out = new Uint8Array(pixels);
  for (let i = 0; i < pixels; i++) {
    if (channels === 1) {
      out[i] = probabilities[i]! > 0.5 ? 1 : 0;
      continue;
    }
    let best = 0;
    for (let c = 1; c < channels; c++) if (probabilities[i * channels + c]! > probabilities[i * channels + best]!) best = c;
    out[i] = best;
  }
  return out;
}

/**
 * Scores accumulated image by image (images may differ in size): IoUs and pixel accuracy from the
 * pooled confusion matrix, mMse as the mean of per-image errors.
 *
 * @example const s = new ScoreAccumulator(2); s.add(truth, probs, 1); s.scores().miou
 */
export class ScoreAccumulator {
  private readonly matrix: Float64Array;
  private mseSum = 0;
  private images = 0;

  constructor(readonly classes: number) {
    this.matrix = new Float64Array(classes * classes);
  }

  /** One image: its true classes and its probability map (`channels` 1 or `classes`). */
  add(truth: ArrayLike<number>, probabilities: ArrayLike<number>, channels: number): void {
    const m = confusionMatrix(truth, classesFromProbabilities(probabilities, channels), this.classes);
    for (let i = 0; i < m.length; i++) this.matrix[i]! += m[i]!;
    this.mseSum += probabilityMse(probabilities, truth, channels);
    this.images++;
  }

  scores(): SegmentationScores {
    return {
      miou: meanIou(this.matrix),
      mmse: this.images ? this.mseSum / this.images : 0,
      pixel_acc: pixelAccuracy(this.matrix),
      iou: iouPerClass(this.matrix),
    };
  }
}
