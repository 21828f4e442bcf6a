/**
 * The ready-made model specs as plain data, with no imports: the web pages use them (the Models
 * form starts from `photo-cae`) without bundling the spec's zod schemas; lib/models/spec.ts checks
 * them against the spec type and exports them as PRESETS.
 */
/** Named, ready-made specs. `reference-cae` is exactly shared/bench/reference_cae.py. */
export const PRESET_SPECS = Object.freeze({
  'reference-cae': {
    arch: 'conv',
    inputShape: [28, 28, 1],
    latentSize: 64,
    filters: [32, 64, 128],
    downsample: 'stride',
    upsampling: 'transposed',
    latentActivation: 'linear',
    outputActivation: 'sigmoid',
    loss: 'mse',
  },
  /**
   * The default for a photo library: a small colour CAE whose codes group pictures by what they
   * show (docs/experiments.md, flowers): 32×32 input, group norm, global average pooling, the
   * two-view objective (NT-Xent, τ 0.2, half-strength colour jitter: colour carries meaning in
   * photos) and mirror-averaged search vectors. The decoder still reconstructs the clean image.
   */
  'photo-cae': {
    arch: 'conv',
    inputShape: [32, 32, 3],
    latentSize: 32,
    filters: [16, 32, 64],
    downsample: 'maxpool',
    upsampling: 'nearest',
    norm: 'group',
    pool: 'average',
    latentActivation: 'linear',
    outputActivation: 'sigmoid',
    loss: 'mse',
    contrastive: { loss: 'ntxent', weight: 1, temperature: 0.2, projection: [128, 64], views: 'photo', jitter: 0.5 },
    embedding: { whiten: 0.5, mirror: true },
  },
  /**
   * The default for chest X-rays (`npm run eval -- chest-xray`): a grey 64×64 conv AE whose codes
   * also agree across two X-ray views (small crop, shift, rotation, contrast and gamma, never a
   * mirror; NT-Xent τ 0.1). On the 200 chest X-rays (the plain command, 2026-12-03) precision@10
   * 0.875 and k-means ACC 0.880 against raw pixels' 0.818 / 0.565 (docs/experiments.md).
   */
  'xray-cae': {
    arch: 'conv',
    inputShape: [64, 64, 1],
    latentSize: 32,
    filters: [16, 32, 64],
    downsample: 'maxpool',
    upsampling: 'nearest',
    latentActivation: 'linear',
    outputActivation: 'sigmoid',
    loss: 'mse',
    contrastive: { loss: 'ntxent', weight: 1, temperature: 0.1, projection: [128, 64], views: 'xray' },
    embedding: { whiten: 0.5 },
  },
} as const);

/**
 * How each preset is trained by default (the Models page's form, `npm run train -- --preset`,
 * `npm run eval -- flowers`), where its spec alone does not say: epochs and images per step.
 */
export const PRESET_TRAINING = Object.freeze({
  'reference-cae': { epochs: 10, batchSize: 128 },
  // Every photo of a 100-image library in one step (NT-Xent's negatives are the rest of the batch).
  'photo-cae': { epochs: 100, batchSize: 100 },
  'xray-cae': { epochs: 100, batchSize: 128 },
} as const satisfies Record<keyof typeof PRESET_SPECS, { epochs: number; batchSize: number }>);
