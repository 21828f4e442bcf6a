/**
 * Inference with a trained segmentation model: batched probability maps at the model's input
 * size, maps resized back to a picture's own size, the one-call `segmentImage` for an uploaded
 * file (bytes → probability map, class map, mask values and area at the picture's size), and the
 * evaluation of a model on pairs at their masks' own resolution.
 */
import { AppError } from '../errors';
import { tf, type Tensor4D } from '../engine/tf';
import type { SegmentationSet } from './segmentation-folder';
import { prepareImage, type DecodeLimits, type ImageDecode } from '../images/image-decoder';
import { classesFromProbabilities, ScoreAccumulator, type SegmentationScores } from './metrics';
import type { Segmenter } from './segmenter';

/** Images (NHWC uint8, at the model's input size) → probabilities [count × h × w × outputChannels]. */
export function predictProbabilities(model: Segmenter, pixels: Uint8Array, count: number, batchSize = 16): Float32Array {
  const [height, width, channels] = model.spec.inputShape;
  const size = height * width * channels;
  if (pixels.length !== count * size)
    throw new AppError('invalid_input', `${pixels.length} values are not ${count} images of ${height}×${width}×${channels}`);
  const out = new Float32Array(count * height * width * model.outputChannels);
  for (let s = 0; s < count; s += batchSize) {
    const n = Math.min(batchSize, count - s);
    const probs = tf.tidy(() => {
      const x = tf.div(tf.tensor4d(pixels.subarray(s * size, (s + n) * size), [n, height, width, channels], 'float32'), 255) as Tensor4D;
      return model.predict(x).dataSync() as Float32Array;
    });
    out.set(probs, s * height * width * model.outputChannels);
  }
  return out;
}

/** One probability map `height`×`width`×`channels` bilinearly resized to `outHeight`×`outWidth`. */
export function resizeProbabilities(
  probabilities: Float32Array,
  height: number,
  width: number,
  channels: number,
  outHeight: number,
  outWidth: number,
): Float32Array {
  if (height === outHeight && width === outWidth) return probabilities.slice();
  return tf.tidy(
    () =>
      tf.image
        .resizeBilinear(tf.tensor3d(probabilities, [height, width, channels]), [outHeight, outWidth], false, true)
        .dataSync() as Float32Array,
  );
}

export interface SegmentationPrediction {
  /** The picture's own size (after EXIF orientation); every map below has width × height pixels. */
  width: number;
  height: number;
  /** 1: `probabilities[i]` is p(foreground); otherwise one probability per class, pixel-major. */
  channels: number;
  probabilities: Float32Array;
  /** Class index per pixel (0 = background). */
  classes: Uint8Array;
  /** Mask value per pixel, as the training masks spelled it (e.g. 0 and 255). */
  mask: Uint8Array;
  /** Share of pixels not predicted background (the mask's area). */
  areaFraction: number;
  /** Share of pixels per class, background first. */
  classFractions: number[];
}

/**
 * Bytes of an uploaded picture → its predicted mask at the picture's own size. The picture is
 * sniffed and decoded like every upload; formats off the list are refused (AppError 'unsupported').
 *
 * @example const { mask, width, height, areaFraction } = await segmentImage(model, bytes);
 */
export async function segmentImage(
  model: Segmenter,
  bytes: Uint8Array,
  limits?: DecodeLimits,
  decode: ImageDecode = prepareImage,
): Promise<SegmentationPrediction> {
  const [height, width, channels] = model.spec.inputShape;
  const image = await decode(bytes, { target: { height, width, channels, fit: 'fill' }, ...(limits ? { limits } : {}) });
  const small = predictProbabilities(model, image.pixels, 1);
  const probabilities = resizeProbabilities(small, height, width, model.outputChannels, image.originalHeight, image.originalWidth);
  return predictionFrom(model, probabilities, image.originalWidth, image.originalHeight);
}

function predictionFrom(model: Segmenter, probabilities: Float32Array, width: number, height: number): SegmentationPrediction {
  const classes = classesFromProbabilities(probabilities, model.outputChannels);
  const counts = new Array<number>(model.spec.maskValues.length).fill(0);
  const mask = new Uint8Array(classes.length);
  for (let i = 0; i < classes.length; i++) {
    counts[classes[i]!]! += 1;
    mask[i] = model.spec.maskValues[classes[i]!]!;
  }
  const total = classes.length || 1;
  return {
    width,
    height,
    channels: model.outputChannels,
    probabilities,
    classes,
    mask,
    areaFraction: 1 - counts[0]! / total,
    classFractions: counts.map((c) => c / total),
  };
}

/**
 * Scores of `model` on `set`: each probability map is resized to its mask's own size (when the set
 * kept the originals; at the input size otherwise) and compared there.
 */
export function evaluateSegmenter(model: Segmenter, set: SegmentationSet): SegmentationScores {
  const [height, width] = model.spec.inputShape;
  const probs = predictProbabilities(model, set.pixels, set.count);
  const c = model.outputChannels;
  const per = height * width * c;
  const scores = new ScoreAccumulator(model.spec.maskValues.length);
  for (let i = 0; i < set.count; i++) {
    const map = probs.subarray(i * per, (i + 1) * per);
    const original = set.originals?.[i];
    if (original) scores.add(original.labels, resizeProbabilities(map, height, width, c, original.height, original.width), c);
    else scores.add(set.labels.subarray(i * height * width, (i + 1) * height * width), map, c);
  }
  return scores.scores();
}
