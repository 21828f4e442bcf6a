import { describe, expect, it } from 'vitest';
import {
  classesFromProbabilities,
  confusionMatrix,
  iouPerClass,
  meanIou,
  pixelAccuracy,
  probabilityMse,
  ScoreAccumulator,
} from '../../../lib/segmentation/metrics';

// 4×4 masks drawn by hand; 1 = foreground.
const square = [0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0];
const left = [1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0];
const right = [0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1];

describe('segmentation metrics on hand-made masks', () => {
  it('identical masks give IoU 1 for every class, mean IoU 1 and pixel accuracy 1', () => {
    const m = confusionMatrix(square, square, 2);
    expect(iouPerClass(m)).toEqual([1, 1]);
    expect(meanIou(m)).toBe(1);
    expect(pixelAccuracy(m)).toBe(1);
  });

  it('disjoint foregrounds give foreground IoU 0', () => {
    const m = confusionMatrix(left, right, 2);
    expect(iouPerClass(m)).toEqual([0, 0]);
    expect(meanIou(m)).toBe(0);
    expect(pixelAccuracy(m)).toBe(0);
  });

  it('a known overlap gives its known IoUs', () => {
    // square ∩ left = pixels 5 and 9 (2); square ∪ left = 8 + 2 = 10 → foreground IoU 1/5.
    // background: truth-0 = 12 pixels, pred-0 = 8, both 0 = 6 → IoU 6 / (12 + 8 − 6) = 3/7.
    const m = confusionMatrix(square, left, 2);
    const [background, foreground] = iouPerClass(m);
    expect(foreground).toBeCloseTo(1 / 5, 12);
    expect(background).toBeCloseTo(3 / 7, 12);
    expect(meanIou(m)).toBeCloseTo((1 / 5 + 3 / 7) / 2, 12);
    expect(pixelAccuracy(m)).toBeCloseTo(8 / 16, 12);
  });

  it('a class absent from truth and prediction is left out of the mean', () => {
    const m = confusionMatrix([0, 0, 1, 1], [0, 0, 1, 0], 3);
    expect(iouPerClass(m)).toEqual([2 / 3, 1 / 2, null]);
    expect(meanIou(m)).toBeCloseTo((2 / 3 + 1 / 2) / 2, 12);
  });

  it('the probability map error is the mean squared distance to the one-hot truth', () => {
    expect(probabilityMse([1, 0, 1, 0], [1, 0, 1, 0], 1)).toBe(0);
    expect(probabilityMse([0.5, 0.5, 0.9, 0.1], [1, 0, 1, 0], 1)).toBeCloseTo((0.25 + 0.25 + 0.01 + 0.01) / 4, 12);
    // Two channels miss by the same amount as the one-channel form.
    expect(probabilityMse([0.5, 0.5, 0.5, 0.5, 0.1, 0.9, 0.9, 0.1], [1, 0, 1, 0], 2)).toBeCloseTo(0.13, 12);
    // Three classes: pixel 0 is class 2, predicted [0.2, 0.2, 0.6] → (0.04 + 0.04 + 0.16) / 3.
    expect(probabilityMse([0.2, 0.2, 0.6], [2], 3)).toBeCloseTo(0.08, 12);
  });

  it('classes come from p > 0.5 for one channel and argmax otherwise', () => {
    expect([...classesFromProbabilities([0.2, 0.7, 0.5], 1)]).toEqual([0, 1, 0]);
    expect([...classesFromProbabilities([0.1, 0.3, 0.6, 0.8, 0.1, 0.1], 3)]).toEqual([2, 0]);
  });

  it('the accumulator pools IoU over images of different sizes and averages the per-image error', () => {
    const scores = new ScoreAccumulator(2);
    scores.add(square, Float32Array.from(square), 1);
    scores.add([1, 0], [0.4, 0.4], 1); // a 2-pixel image, its foreground missed
    const s = scores.scores();
    // pooled: foreground TP 4, FN 1 → 4/5; background TP 13, FP 1 → 13/14.
    expect(s.iou[1]).toBeCloseTo(4 / 5, 12);
    expect(s.iou[0]).toBeCloseTo(13 / 14, 12);
    expect(s.pixel_acc).toBeCloseTo(17 / 18, 12);
    expect(s.mmse).toBeCloseTo((0 + (0.36 + 0.16) / 2) / 2, 6);
  });
});
