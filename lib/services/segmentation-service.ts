/**
 * Segmentation as a service: train a model on image/mask folders and score it on the test split
 * (`trainSegmentation`), compare it with the same model without skip connections and with the
 * majority-class baseline in one run (`compareSegmentation`), and serve saved models to the web
 * app — every model directory under `<modelsDir>/segmentation/` is a registered segmentation
 * model (`listSegmentationModels`), loaded once per process (`openSegmentationModel`), used by
 * `segmentUpload`. Segmentation models stay out of the SQLite model table: they have no latent
 * space, so nothing there (embeddings, indexes, the active model) applies to them.
 */
import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { writeFileDurable } from '../durable-file';
import { AppError, isAppError } from '../errors';
import { loadSegmentationFolder, type SegmentationSet } from '../segmentation/segmentation-folder';
import type { DecodeLimits, ImageDecode } from '../images/image-decoder';
import { encodeMaskOverlay } from '../images/mask-png';
import { evaluateSegmenter, segmentImage, type SegmentationPrediction } from '../segmentation/segmentation-inference';
import { loadSegmenter, readSegmentationManifest, saveSegmenter, type SegmentationManifest } from '../segmentation/segmentation-io';
import { parseSegmentationSpec, type SegmentationSpec, type SegmentationSpecInput } from '../segmentation/segmentation-spec';
import { segmentationTrainOptionsSchema, trainSegmenter, type SegmentationTrainOptions } from '../segmentation/segmentation-train';
import { Segmenter } from '../segmentation/segmenter';
import type { EpochRecord, TrainHooks } from '../training/fit';
import { ScoreAccumulator, type SegmentationScores } from '../segmentation/metrics';

/** Sub-folder of the models directory that holds segmentation models. */
export const SEGMENTATION_MODELS_DIR = 'segmentation';

export interface SegmentationData {
  /** Folder of images (any accepted format), NAME.ext. */
  images: string;
  /** Folder of masks, NAME.png. */
  masks: string;
  /** A split.csv with `file` (NAME) and `split` ('train'/'test') columns; without one every pair trains and nothing is tested. */
  split?: string;
  /** Known mask values, background first; default: discovered from the training masks. */
  maskValues?: number[];
  /** Use only the first N pairs of each split. */
  limit?: number;
}

export interface SegmentationTrainRequest {
  data: SegmentationData;
  /** Spec fields; `maskValues` comes from the data when not given. */
  spec: SegmentationSpecInput;
  options: SegmentationTrainOptions;
  outDir: string;
}

export interface SegmentationTrainRecord {
  data: { images: string; masks: string; split: string | null };
  trainPairs: number;
  testPairs: number;
  options: SegmentationTrainOptions;
  history: EpochRecord[];
  seconds: number;
  imagesPerSec: number;
  /** Scores on the test split at the masks' own resolution, or null without a split. */
  test: SegmentationScores | null;
}

export interface SegmentationTrainOutcome {
  modelDir: string;
  spec: SegmentationSpec;
  record: SegmentationTrainRecord;
}

type LoadHooks = { onFile?: (done: number, total: number, split: string) => void };

/** The pairs of one split ('train', 'test'; 'all' without a split file), at the spec's input size. */
export async function loadSegmentationPairs(
  data: SegmentationData,
  which: 'train' | 'test' | 'all',
  shape: readonly [number, number, 1 | 3],
  options: { maskValues?: readonly number[]; keepOriginals?: boolean } & LoadHooks = {},
): Promise<SegmentationSet> {
  const maskValues = options.maskValues ?? data.maskValues;
  return loadSegmentationFolder({
    images: data.images,
    masks: data.masks,
    height: shape[0],
    width: shape[1],
    channels: shape[2],
    ...(data.split && which !== 'all' ? { split: { file: data.split, name: which } } : {}),
    ...(maskValues ? { maskValues } : {}),
    ...(data.limit ? { limit: data.limit } : {}),
    keepOriginals: options.keepOriginals ?? false,
    ...(options.onFile ? { onFile: (done: number, total: number) => options.onFile!(done, total, which) } : {}),
  });
}

const defaultShape = (spec: SegmentationTrainRequest['spec']) => parseSegmentationSpec(spec).inputShape;

/**
 * Trains a segmentation model, scores it on the test split (when the data has one) and saves it
 * with its record. Throws AppError('cancelled') when `hooks.signal` aborts.
 */
export async function trainSegmentation(
  request: SegmentationTrainRequest,
  hooks: Omit<TrainHooks, 'resume'> & LoadHooks = {},
  preloaded?: { train: SegmentationSet; test: SegmentationSet | null },
): Promise<SegmentationTrainOutcome> {
  const shape = defaultShape(request.spec);
  const train = preloaded?.train ?? (await loadSegmentationPairs(request.data, request.data.split ? 'train' : 'all', shape, hooks));
  const spec = parseSegmentationSpec({ ...request.spec, maskValues: train.maskValues });
  const test =
    preloaded?.test ??
    (request.data.split
      ? await loadSegmentationPairs(request.data, 'test', shape, { ...hooks, maskValues: train.maskValues, keepOriginals: true })
      : null);
  const model = Segmenter.create(spec);
  try {
    const started = performance.now();
    const result = await trainSegmenter(model, train, request.options, hooks);
    const seconds = (performance.now() - started) / 1000;
    const record: SegmentationTrainRecord = {
      data: { images: request.data.images, masks: request.data.masks, split: request.data.split ?? null },
      trainPairs: train.count,
      testPairs: test?.count ?? 0,
      options: request.options,
      history: result.history,
      seconds: Number(seconds.toFixed(1)),
      imagesPerSec: Number(result.imagesPerSec.toFixed(2)),
      test: test ? evaluateSegmenter(model, test) : null,
    };
    await saveSegmenter(model, request.outDir, record);
    return { modelDir: request.outDir, spec, record };
  } finally {
    model.dispose();
  }
}

/** Every pixel the majority class of the training masks, scored on `test` at its masks' own size. */
export function majorityBaseline(train: SegmentationSet, test: SegmentationSet): SegmentationScores {
  const classes = train.maskValues.length;
  const counts = new Float64Array(classes);
  for (const c of train.labels) counts[c]! += 1;
  const majority = counts.indexOf(Math.max(...counts));
  const channels = classes === 2 ? 1 : classes;
  const scores = new ScoreAccumulator(classes);
  for (let i = 0; i < test.count; i++) {
    const truth = test.originals?.[i]?.labels ?? test.labels.subarray(i * test.height * test.width, (i + 1) * test.height * test.width);
    const probs = new Float32Array(truth.length * channels);
    if (channels === 1) probs.fill(majority);
    else for (let p = 0; p < truth.length; p++) probs[p * channels + majority] = 1;
    scores.add(truth, probs, channels);
  }
  return scores.scores();
}

export interface SegmentationComparison {
  model: SegmentationScores & { dir: string; seconds: number };
  no_skip: SegmentationScores & { dir: string; seconds: number };
  baseline: SegmentationScores & { majority_class: number };
  test_pairs: number;
}

/**
 * Scores, on the test split and in one run, a skip-connection model, the same model without skip
 * connections and the majority-class baseline. Models not given as directories are trained here
 * with `request` (the no-skip one with `skip: false` and everything else equal).
 */
export async function compareSegmentation(
  request: Omit<SegmentationTrainRequest, 'outDir'> & { modelDir?: string; noSkipDir?: string; modelsDir: string },
  hooks: Omit<TrainHooks, 'resume'> & LoadHooks & { onStep?: (step: string) => void } = {},
): Promise<SegmentationComparison> {
  if (!request.data.split) throw new AppError('invalid_input', 'a comparison needs a split file with train and test rows (--split)');
  let spec = { ...request.spec };
  let options = request.options;
  if (request.modelDir) {
    // A given model fixes the spec and options that the no-skip model copies.
    const manifest = await readSegmentationManifest(request.modelDir);
    const { arch: _arch, ...saved } = manifest.spec;
    spec = saved;
    const recorded = segmentationTrainOptionsSchema.safeParse((manifest.training as { options?: unknown } | undefined)?.options);
    if (recorded.success) options = recorded.data;
  }
  const shape = defaultShape(spec);
  const train = await loadSegmentationPairs(request.data, 'train', shape, {
    ...hooks,
    ...(spec.maskValues ? { maskValues: spec.maskValues } : {}),
  });
  const test = await loadSegmentationPairs(request.data, 'test', shape, { ...hooks, maskValues: train.maskValues, keepOriginals: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const score = async (dir: string | undefined, skip: boolean) => {
    const started = performance.now();
    if (!dir) {
      dir = join(request.modelsDir, SEGMENTATION_MODELS_DIR, `seg-${skip ? 'skip' : 'noskip'}-${stamp}`);
      hooks.onStep?.(`training the ${skip ? 'skip-connection' : 'no-skip'} model into ${dir}`);
      await trainSegmentation({ data: request.data, spec: { ...spec, skip }, options, outDir: dir }, hooks, { train, test });
    }
    const { model } = await loadSegmenter(dir);
    try {
      if (model.spec.skip !== skip)
        throw new AppError('invalid_input', `${basename(dir)} was trained ${model.spec.skip ? 'with' : 'without'} skip connections`);
      hooks.onStep?.(`scoring ${basename(dir)} on ${test.count} test pairs`);
      return { ...evaluateSegmenter(model, test), dir, seconds: Number(((performance.now() - started) / 1000).toFixed(1)) };
    } finally {
      model.dispose();
    }
  };
  const model = await score(request.modelDir, true);
  const noSkip = await score(request.noSkipDir, false);
  const counts = new Float64Array(train.maskValues.length);
  for (const c of train.labels) counts[c]! += 1;
  return {
    model,
    no_skip: noSkip,
    baseline: { ...majorityBaseline(train, test), majority_class: train.maskValues[counts.indexOf(Math.max(...counts))]! },
    test_pairs: test.count,
  };
}

/** Default directory of a new segmentation model: <modelsDir>/segmentation/seg-<timestamp>. */
export function defaultSegmentationDir(modelsDir: string): string {
  return join(modelsDir, SEGMENTATION_MODELS_DIR, `seg-${new Date().toISOString().replace(/[:.]/g, '-')}`);
}

export interface SegmentationModelInfo {
  /** Directory name: what the web app passes back to pick a model. */
  name: string;
  dir: string;
  spec: SegmentationSpec;
  /** The training record (test scores under `test`), when the model has one. */
  training: SegmentationTrainRecord | null;
  createdAt: string;
}

/** The segmentation models under `<modelsDir>/segmentation/`, newest first; unreadable directories are skipped. */
export async function listSegmentationModels(modelsDir: string): Promise<SegmentationModelInfo[]> {
  const root = join(modelsDir, SEGMENTATION_MODELS_DIR);
  let entries;
  try {
    entries = await readdir(root, { withFileTypes: true });
  } catch {
    return [];
  }
  const models: SegmentationModelInfo[] = [];
  for (const e of entries) {
    if (!e.isDirectory() || e.name.startsWith('.')) continue;
    let manifest: SegmentationManifest;
    try {
      manifest = await readSegmentationManifest(join(root, e.name));
    } catch (error) {
      if (isAppError(error)) continue;
      throw error;
    }
    models.push({
      name: e.name,
      dir: join(root, e.name),
      spec: manifest.spec,
      training: (manifest.training as SegmentationTrainRecord | undefined) ?? null,
      createdAt: manifest.createdAt,
    });
  }
  return models.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

const cache = new Map<string, Segmenter>();

/**
 * A segmentation model by name (default: the newest), loaded once per process. AppError('not_found')
 * says how to train one when there is none.
 */
export async function openSegmentationModel(modelsDir: string, name?: string): Promise<{ info: SegmentationModelInfo; model: Segmenter }> {
  const models = await listSegmentationModels(modelsDir);
  const info = name === undefined ? models[0] : models.find((m) => m.name === name);
  if (!info) {
    throw new AppError(
      'not_found',
      name === undefined
        ? 'no segmentation model yet: train one first (npm run train:seg)'
        : `no segmentation model named '${name}'; available: ${models.map((m) => m.name).join(', ') || 'none'}`,
    );
  }
  let model = cache.get(info.dir);
  if (!model) {
    model = (await loadSegmenter(info.dir)).model;
    cache.set(info.dir, model);
  }
  return { info, model };
}

/** Disposes the cached models (tests, or after model files changed behind this process's back). */
export function forgetSegmentationModels(): void {
  for (const model of cache.values()) model.dispose();
  cache.clear();
}

/**
 * The Segment page's call: an uploaded picture's bytes → its predicted mask at the picture's own
 * size with the mask's area, under the named (default: newest) segmentation model.
 */
export async function segmentUpload(
  modelsDir: string,
  bytes: Uint8Array,
  options: { model?: string; limits?: DecodeLimits; decode?: ImageDecode } = {},
): Promise<SegmentationPrediction & { model: string }> {
  const { info, model } = await openSegmentationModel(modelsDir, options.model);
  return { ...(await segmentImage(model, bytes, options.limits, options.decode)), model: info.name };
}

/** What the Segment page shows: the mask as a transparent PNG overlay at the picture's size, and its area. */
export interface SegmentationOverlay {
  model: string;
  width: number;
  height: number;
  areaFraction: number;
  classFractions: number[];
  /** PNG bytes: each class's colour where it was predicted, transparent background. */
  overlay: Buffer;
}

/** segmentUpload with the mask drawn as an overlay PNG (the web page's call). */
export async function segmentUploadOverlay(
  modelsDir: string,
  bytes: Uint8Array,
  options: { model?: string; limits?: DecodeLimits; decode?: ImageDecode } = {},
): Promise<SegmentationOverlay> {
  const prediction = await segmentUpload(modelsDir, bytes, options);
  return {
    model: prediction.model,
    width: prediction.width,
    height: prediction.height,
    areaFraction: prediction.areaFraction,
    classFractions: prediction.classFractions,
    overlay: await encodeMaskOverlay(prediction.classes, prediction.width, prediction.height),
  };
}

/** The Models page's view of segmentation: the saved models (no server paths) and the latest eval:seg comparison. */
export interface SegmentationOverview {
  models: Omit<SegmentationModelInfo, 'dir'>[];
  comparison: (SegmentationComparison & { measuredAt: string }) | null;
}

/** The saved segmentation models (newest first) and the latest comparison saved under `dataDir`. */
export async function segmentationOverview(modelsDir: string, dataDir: string): Promise<SegmentationOverview> {
  const models = await listSegmentationModels(modelsDir);
  return { models: models.map(({ dir: _dir, ...m }) => m), comparison: await latestSegmentationComparison(dataDir) };
}

/** Where `eval:seg` keeps its latest comparison, for the Models page. */
export function comparisonPath(dataDir: string): string {
  return join(dataDir, 'eval', 'segmentation.json');
}

/** Saves a comparison (with when it was measured) atomically and durably. */
export async function saveSegmentationComparison(dataDir: string, comparison: SegmentationComparison): Promise<void> {
  await writeFileDurable(comparisonPath(dataDir), JSON.stringify({ ...comparison, measuredAt: new Date().toISOString() }, null, 2));
}

/** The latest `eval:seg` comparison, or null when none was run. */
export async function latestSegmentationComparison(dataDir: string): Promise<(SegmentationComparison & { measuredAt: string }) | null> {
  try {
    return JSON.parse(await readFile(comparisonPath(dataDir), 'utf8')) as SegmentationComparison & { measuredAt: string };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new AppError('internal', 'the saved segmentation comparison is unreadable', { cause: error });
  }
}
