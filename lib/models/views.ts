/**
 * Augmented views for the two-view (contrastive) objective: each training image is redrawn on the
 * fly with changes that keep what it shows, chosen per kind of collection (SimCLR's recipe for
 * photos; only anatomy-preserving changes for X-rays; crop and flip for garments). Pure pixel work
 * on typed arrays, no tensors, so the training thread and the worker replicas draw the same views.
 *
 * Determinism: every image's view is drawn from its own generator, seeded by the step's seed, the
 * image's position in the whole batch and the view number — never from a generator carried across
 * steps — so a view does not depend on how a batch is sharded across replicas (lib/training/fit.ts).
 */
import { AppError } from '../errors';
import { imageSize, type ImageSet } from '../data/image-set';
import { seededRandom } from '../random';

/** What a view may change, per kind of collection. Angles in degrees, sizes as fractions of the image. */
export interface ViewPolicy {
  /** Crop area as a fraction of the image, drawn uniformly in [min, max] (random resized crop). */
  scale: readonly [number, number];
  /** Crop aspect ratio (width / height), log-uniform in [min, max]. */
  ratio: readonly [number, number];
  /** Mirror left–right with probability 1/2. */
  flip: boolean;
  /** Rotation, uniform in ±rotate degrees. */
  rotate: number;
  /** Extra shift of the crop's centre, uniform in ±shift of the image side. */
  shift: number;
  /** Colour jitter with probability `p`: brightness, contrast and saturation factors in 1 ± s, hue shift in ± hue turns. */
  jitter: { p: number; brightness: number; contrast: number; saturation: number; hue: number };
  /** Probability of a greyscale view. */
  greyscale: number;
  /** Gaussian blur with probability `p`, σ uniform in [min, max] pixels at 64 px (scaled with the image side). */
  blur: { p: number; sigma: readonly [number, number] };
  /** Gamma x^γ with log γ uniform in ±gamma (X-ray exposure). 0: none. */
  gamma: number;
}

/**
 * Kinds of collection and their views (a frozen registry). Photos: SimCLR's (Chen et al. 2020),
 * colour jitter 0.8·(0.4, 0.4, 0.4, 0.1) scaled by the spec's `jitter`. X-rays: small crop, shift,
 * rotation, contrast and gamma, never a flip (the heart is on the left). Garments: crop and flip.
 */
export const VIEW_KINDS = Object.freeze(['photo', 'xray', 'garment'] as const);
export type ViewKind = (typeof VIEW_KINDS)[number];

export const VIEW_POLICIES: Readonly<Record<ViewKind, ViewPolicy>> = Object.freeze({
  photo: {
    scale: [0.2, 1],
    ratio: [3 / 4, 4 / 3],
    flip: true,
    rotate: 0,
    shift: 0,
    jitter: { p: 0.8, brightness: 0.4, contrast: 0.4, saturation: 0.4, hue: 0.1 },
    greyscale: 0.2,
    blur: { p: 0.5, sigma: [0.1, 2] },
    gamma: 0,
  },
  xray: {
    scale: [0.7, 1],
    ratio: [0.9, 1.1],
    flip: false,
    rotate: 10,
    shift: 0.05,
    jitter: { p: 0.8, brightness: 0.2, contrast: 0.3, saturation: 0, hue: 0 },
    greyscale: 0,
    blur: { p: 0, sigma: [0, 0] },
    gamma: 0.3,
  },
  garment: {
    scale: [0.4, 1],
    ratio: [3 / 4, 4 / 3],
    flip: true,
    rotate: 0,
    shift: 0,
    jitter: { p: 0, brightness: 0, contrast: 0, saturation: 0, hue: 0 },
    greyscale: 0,
    blur: { p: 0, sigma: [0, 0] },
    gamma: 0,
  },
});

/** The policy of `kind` with its colour jitter scaled by `jitter` (0: none, 1: the policy's). */
export function viewPolicy(kind: string, jitter = 1): ViewPolicy {
  const base = (VIEW_POLICIES as Record<string, ViewPolicy | undefined>)[kind];
  if (!base) throw new AppError('invalid_input', `unknown view kind '${kind}'; valid kinds: ${VIEW_KINDS.join(', ')}`);
  const j = base.jitter;
  return {
    ...base,
    jitter: {
      ...j,
      brightness: j.brightness * jitter,
      contrast: j.contrast * jitter,
      saturation: j.saturation * jitter,
      hue: j.hue * jitter,
    },
  };
}

/** The generator of one image's view: a hash of the step's seed, the image's position in the batch and the view. */
export function viewRandom(seed: number, position: number, view: number): () => number {
  let h = Math.imul(seed ^ 0x5bd1e995, 0x9e3779b1) ^ Math.imul(position + 1, 0x85ebca77) ^ Math.imul(view + 1, 0xc2b2ae3d);
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d);
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b);
  return seededRandom((h ^ (h >>> 16)) >>> 0);
}

const uniform = (random: () => number, lo: number, hi: number) => lo + (hi - lo) * random();
const LUMA = [0.299, 0.587, 0.114] as const;

/** Where output pixel (x, y) samples the source: an affine map (crop, shift, rotation, flip). */
interface Warp {
  /** Source coordinates of the output's centre. */
  cx: number;
  cy: number;
  /** Source offsets per output pixel step in x and in y. */
  ax: number;
  ay: number;
  bx: number;
  by: number;
}

function drawWarp(random: () => number, policy: ViewPolicy, width: number, height: number): Warp {
  const area = uniform(random, policy.scale[0], policy.scale[1]);
  const ratio = Math.exp(uniform(random, Math.log(policy.ratio[0]), Math.log(policy.ratio[1])));
  const w = Math.min(1, Math.sqrt(area * ratio));
  const h = Math.min(1, Math.sqrt(area / ratio));
  // The crop lies inside the image; the shift may move it out a little (edges repeat).
  let cx = (w / 2 + (1 - w) * random() + uniform(random, -policy.shift, policy.shift)) * width;
  let cy = (h / 2 + (1 - h) * random() + uniform(random, -policy.shift, policy.shift)) * height;
  const angle = (uniform(random, -policy.rotate, policy.rotate) * Math.PI) / 180;
  const flip = policy.flip && random() < 0.5 ? -1 : 1;
  cx = Math.min(width, Math.max(0, cx));
  cy = Math.min(height, Math.max(0, cy));
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  return { cx, cy, ax: cos * w * flip, ay: sin * w * flip, bx: -sin * h, by: cos * h };
}

/** Bilinear sample of `src` (HWC floats) at (fx, fy) in pixel-centre coordinates, edges repeated. */
function sample(src: Float32Array, width: number, height: number, channels: number, fx: number, fy: number, out: Float32Array, at: number) {
  const x = Math.min(width - 1, Math.max(0, fx));
  const y = Math.min(height - 1, Math.max(0, fy));
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const x1 = Math.min(width - 1, x0 + 1);
  const y1 = Math.min(height - 1, y0 + 1);
  const wx = x - x0;
  const wy = y - y0;
  for (let c = 0; c < channels; c++) {
    const a = src[(y0 * width + x0) * channels + c]!;
    const b = src[(y0 * width + x1) * channels + c]!;
    const d = src[(y1 * width + x0) * channels + c]!;
    const e = src[(y1 * width + x1) * channels + c]!;
    out[at + c] = (a * (1 - wx) + b * wx) * (1 - wy) + (d * (1 - wx) + e * wx) * wy;
  }
}

/** Brightness, contrast, saturation, hue (a rotation about the grey axis in YIQ), in a random order. */
function jitterColours(img: Float32Array, channels: number, random: () => number, j: ViewPolicy['jitter']): void {
  const pixels = img.length / channels;
  const ops = [0, 1, 2, 3];
  for (let i = ops.length - 1; i > 0; i--) {
    const k = Math.floor(random() * (i + 1));
    [ops[i], ops[k]] = [ops[k]!, ops[i]!];
  }
  const factors = [
    uniform(random, 1 - j.brightness, 1 + j.brightness),
    uniform(random, 1 - j.contrast, 1 + j.contrast),
    uniform(random, 1 - j.saturation, 1 + j.saturation),
    uniform(random, -j.hue, j.hue),
  ];
  for (const op of ops) {
    const f = factors[op]!;
    if (op === 0) for (let i = 0; i < img.length; i++) img[i] = img[i]! * f;
    else if (op === 1) {
      let mean = 0;
      for (let p = 0; p < pixels; p++) mean += luma(img, p, channels);
      mean /= pixels;
      for (let i = 0; i < img.length; i++) img[i] = (img[i]! - mean) * f + mean;
    } else if (channels === 3 && op === 2) {
      for (let p = 0; p < pixels; p++) {
        const grey = luma(img, p, 3);
        for (let c = 0; c < 3; c++) img[p * 3 + c] = (img[p * 3 + c]! - grey) * f + grey;
      }
    } else if (channels === 3 && op === 3 && f !== 0) rotateHue(img, f * 2 * Math.PI);
    for (let i = 0; i < img.length; i++) img[i] = Math.min(1, Math.max(0, img[i]!));
  }
}

function luma(img: Float32Array, p: number, channels: number): number {
  return channels === 3 ? LUMA[0] * img[p * 3]! + LUMA[1] * img[p * 3 + 1]! + LUMA[2] * img[p * 3 + 2]! : img[p]!;
}

/** Hue rotation by `angle` radians: RGB → YIQ, rotate (I, Q), back. */
function rotateHue(img: Float32Array, angle: number): void {
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  for (let at = 0; at < img.length; at += 3) {
    const r = img[at]!;
    const g = img[at + 1]!;
    const b = img[at + 2]!;
    const y = 0.299 * r + 0.587 * g + 0.114 * b;
    const i0 = 0.596 * r - 0.274 * g - 0.322 * b;
    const q0 = 0.211 * r - 0.523 * g + 0.312 * b;
    const i = i0 * cos - q0 * sin;
    const q = i0 * sin + q0 * cos;
    img[at] = y + 0.956 * i + 0.621 * q;
    img[at + 1] = y - 0.272 * i - 0.647 * q;
    img[at + 2] = y - 1.106 * i + 1.703 * q;
  }
}

/** Separable Gaussian blur of σ pixels, edges repeated. */
function blur(img: Float32Array, width: number, height: number, channels: number, sigma: number, scratch: Float32Array): void {
  const radius = Math.max(1, Math.ceil(2 * sigma));
  const kernel = Float32Array.from({ length: 2 * radius + 1 }, (_, k) => Math.exp(-((k - radius) ** 2) / (2 * sigma * sigma)));
  const sum = kernel.reduce((a, b) => a + b, 0);
  for (let k = 0; k < kernel.length; k++) kernel[k]! /= sum;
  const pass = (from: Float32Array, to: Float32Array, horizontal: boolean) => {
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        for (let c = 0; c < channels; c++) {
          let v = 0;
          for (let k = -radius; k <= radius; k++) {
            const xx = horizontal ? Math.min(width - 1, Math.max(0, x + k)) : x;
            const yy = horizontal ? y : Math.min(height - 1, Math.max(0, y + k));
            v += kernel[k + radius]! * from[(yy * width + xx) * channels + c]!;
          }
          to[(y * width + x) * channels + c] = v;
        }
      }
    }
  };
  pass(img, scratch, true);
  pass(scratch, img, false);
}

/**
 * Multi-crop (SwAV, Caron et al. 2020; DINO): besides the two full-size views, `count` small
 * low-resolution crops of each image, `size` pixels square, each covering `scale` of the image's
 * area. A small crop costs (size / side)² of a full view to encode, so several add positives to
 * each step for the price of about one more view.
 */
export interface LocalCrops {
  count: number;
  size: number;
  scale: readonly [number, number];
}

/** `policy` for the small crops of multi-crop: the same changes, the crop area from `crops.scale`. */
export function localPolicy(policy: ViewPolicy, crops: LocalCrops): ViewPolicy {
  return { ...policy, scale: crops.scale };
}

/**
 * One view of each image `indices[k]` of `set` under `policy`, as float32 [0,1] pixels
 * ([n, h, w, c] flattened), `h × w` the set's size unless `out` says another (multi-crop's small
 * crops, drawn at low resolution). Image k draws from `viewRandom(seed, offset + k, view)`.
 */
export function augmentImages(
  set: ImageSet,
  indices: ArrayLike<number>,
  policy: ViewPolicy,
  seed: number,
  offset: number,
  view: number,
  out: { height: number; width: number } = set,
): Float32Array {
  const { width, height, channels } = set;
  const size = imageSize(set);
  const outSize = out.height * out.width * channels;
  const scale = set.pixels instanceof Uint8Array ? 1 / 255 : 1;
  const views = new Float32Array(indices.length * outSize);
  const src = new Float32Array(size);
  const scratch = new Float32Array(outSize);
  for (let k = 0; k < indices.length; k++) {
    const random = viewRandom(seed, offset + k, view);
    const base = indices[k]! * size;
    for (let i = 0; i < size; i++) src[i] = set.pixels[base + i]! * scale;
    const img = views.subarray(k * outSize, (k + 1) * outSize);
    const warp = drawWarp(random, policy, width, height);
    for (let y = 0; y < out.height; y++) {
      const v = (y + 0.5) / out.height - 0.5;
      for (let x = 0; x < out.width; x++) {
        const u = (x + 0.5) / out.width - 0.5;
        const fx = warp.cx + (warp.ax * u + warp.bx * v) * width - 0.5;
        const fy = warp.cy + (warp.ay * u + warp.by * v) * height - 0.5;
        sample(src, width, height, channels, fx, fy, img, (y * out.width + x) * channels);
      }
    }
    if (random() < policy.jitter.p) jitterColours(img, channels, random, policy.jitter);
    if (channels === 3 && random() < policy.greyscale) {
      for (let p = 0; p < out.width * out.height; p++) img.fill(luma(img, p, 3), p * 3, p * 3 + 3);
    }
    if (random() < policy.blur.p) {
      const sigma = uniform(random, policy.blur.sigma[0], policy.blur.sigma[1]) * (Math.max(out.width, out.height) / 64);
      if (sigma > 0.05) blur(img, out.width, out.height, channels, sigma, scratch);
    }
    if (policy.gamma > 0) {
      const gamma = Math.exp(uniform(random, -policy.gamma, policy.gamma));
      for (let i = 0; i < img.length; i++) img[i] = Math.pow(img[i]!, gamma);
    }
  }
  return views;
}

/** The view number whose generator draws i-Mix's pairs and weights (far from any image's views). */
const MIX_STREAM = 0x10000;

/** A batch of views mixed pairwise (i-Mix): image k is `weights[k]`·itself + (1 − `weights[k]`)·image `partners[k]`. */
export interface MixedViews {
  pixels: Float32Array;
  weights: Float32Array;
  partners: Int32Array;
}

/**
 * i-Mix's input mixup (Lee et al. 2021): each of the `count` views (flat [count × size] floats)
 * is blended with another view of the batch, the partner a seeded shuffle, the weight λ ~ U(0, 1)
 * (Beta(1, 1), the paper's choice for images). Drawn from `viewRandom(seed, offset, MIX_STREAM)`,
 * so a step's mix depends on its seed and where its share of the batch starts, nothing else.
 */
export function mixViews(views: Float32Array, count: number, seed: number, offset: number): MixedViews {
  if (count < 1 || views.length % count !== 0)
    throw new AppError('internal', `cannot split ${views.length} values into ${count} views to mix`);
  const size = views.length / count;
  const random = viewRandom(seed, offset, MIX_STREAM);
  const partners = Int32Array.from({ length: count }, (_, k) => k);
  for (let k = count - 1; k > 0; k--) {
    const j = Math.floor(random() * (k + 1));
    [partners[k], partners[j]] = [partners[j]!, partners[k]!];
  }
  const weights = Float32Array.from({ length: count }, () => random());
  const pixels = new Float32Array(views.length);
  for (let k = 0; k < count; k++) {
    const w = weights[k]!;
    const own = k * size;
    const other = partners[k]! * size;
    for (let i = 0; i < size; i++) pixels[own + i] = w * views[own + i]! + (1 - w) * views[other + i]!;
  }
  return { pixels, weights, partners };
}
