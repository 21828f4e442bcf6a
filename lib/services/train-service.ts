/**
 * Training as a service: load a data source (Fashion-MNIST or a folder of images), build the
 * model from its spec, train it (stacked AEs through layer-wise pretraining), evaluate the
 * reconstruction on held-out images and save it. The CLI and, later, the job runner call this.
 */
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { AppError } from '../errors';
import { loadFashionMnist } from '../data/fashion-mnist';
import { loadImageFolder } from '../data/image-folder';
import { preprocessImage, type PreprocessTarget } from '../images/image-decoder';
import { liveImageHashes } from '../store/images-repo';
import { originalPath, type Library } from './library';
import { Autoencoder, CENTERS, HEAD_MEAN, HEAD_PROJECTION, PREDICTOR, PROJECTION } from '../models/autoencoder';
import { fitSearchHead } from '../models/search-head';
import { finetuneClusters, type ClusterRunner } from '../models/cluster-finetune';
import type { ImageSet } from '../data/image-set';
import { reconstructionErrors } from '../models/inference';
import { loadModel, saveModel } from '../models/model-io';
import type { ModelSpec } from '../models/spec';
import { ModelWorkerPool } from '../engine/parallel/worker-pool';
import type { BackendName } from '../engine/backend';
import { shardsTwoViews, trainAutoencoder, trainStacked, type TrainOptions, type TrainResult } from '../models/train';
import type { EpochRecord, TrainHooks } from '../training/fit';

export interface TrainRequest {
  /** 'fashion-mnist', 'library' (the stored images of `library`) or a folder of images. */
  data: string;
  /** The library whose images `data: 'library'` means. */
  library?: Library;
  spec: ModelSpec;
  options: TrainOptions;
  /** Use only the first N images. */
  limit?: number;
  /** Images already loaded and shaped for the model (evaluation trains on the labelled set it scores); `data` then only names them. */
  images?: ImageSet;
  /** Where to save the model directory. */
  outDir: string;
  /**
   * A saved model to start from instead of fresh weights: its spec must equal `spec` apart from
   * the clustering head and the seed. With `options.epochs` 0 only the clustering fine-tune runs
   * (the way to give a trained model a clustering head).
   */
  initFrom?: string;
  /**
   * A folder for a checkpoint after every epoch; when it holds one, training resumes from the
   * epoch after it (optimizer moments restart). Removed when training ends. Not for stacked AEs.
   */
  checkpointDir?: string;
  /** Worker threads for data-parallel training on wasm (1 = this thread). */
  workers: number;
  backend: BackendName;
}

export interface TrainOutcome {
  modelDir: string;
  images: number;
  skipped: { file: string; reason: string }[];
  result: TrainResult;
  /** Mean squared reconstruction error on the Fashion-MNIST test set (fashion-mnist only). */
  testMse: number | null;
}

export const FASHION_MNIST = 'fashion-mnist';
export const LIBRARY_DATA = 'library';

/** Every live image of the library, decoded from its stored original, shaped for a model. */
async function loadLibraryImages(
  library: Library,
  target: PreprocessTarget,
  limit?: number,
  onFile?: (done: number, total: number) => void,
): Promise<{ set: ImageSet; skipped: TrainOutcome['skipped'] }> {
  const images = liveImageHashes(library.db).slice(0, limit ?? Infinity);
  if (images.length === 0) throw new AppError('invalid_input', 'the library has no images to train on yet: add some first');
  const size = target.height * target.width * target.channels;
  const pixels = new Uint8Array(images.length * size);
  const skipped: TrainOutcome['skipped'] = [];
  let kept = 0;
  for (const [i, image] of images.entries()) {
    try {
      pixels.set((await preprocessImage(await readFile(originalPath(library.config, image.contentHash)), target)).pixels, kept * size);
      kept++;
    } catch (error) {
      skipped.push({ file: `image ${image.id}`, reason: (error as Error).message });
    }
    onFile?.(i + 1, images.length);
  }
  if (kept === 0) throw new AppError('invalid_input', `none of the library's ${images.length} images could be decoded`);
  return { set: { pixels: pixels.subarray(0, kept * size), count: kept, ...target }, skipped };
}

/** Loads the training images a request names, shaped for its model. */
export async function loadTrainingImages(
  data: string,
  spec: ModelSpec,
  limit?: number,
  onFile?: (done: number, total: number) => void,
  library?: Library,
): Promise<{ set: ImageSet; skipped: TrainOutcome['skipped'] }> {
  const [height, width, channels] = spec.inputShape;
  if (data === LIBRARY_DATA) {
    if (!library) throw new AppError('internal', "training on 'library' needs the library");
    return loadLibraryImages(library, { height, width, channels }, limit, onFile);
  }
  if (data === FASHION_MNIST) {
    if (height !== 28 || width !== 28 || channels !== 1) {
      throw new AppError('invalid_input', `Fashion-MNIST images are 28×28×1; the model expects ${spec.inputShape.join('×')}`);
    }
    return { set: await loadFashionMnist('train', limit ? { limit } : {}), skipped: [] };
  }
  const loaded = await loadImageFolder(data, { height, width, channels }, { ...(limit ? { limit } : {}), ...(onFile ? { onFile } : {}) });
  return { set: loaded.set, skipped: loaded.skipped };
}

/** Trains, evaluates and saves a model; throws AppError('cancelled') if `hooks.signal` aborts. */
export async function trainModel(
  request: TrainRequest,
  hooks: TrainHooks & { onFile?: (done: number, total: number) => void } = {},
): Promise<TrainOutcome> {
  if (request.options.epochs === 0 && !(request.initFrom && (request.spec.clustering || request.spec.embedding))) {
    throw new AppError(
      'invalid_input',
      'epochs 0 (no reconstruction training) needs a model to start from and a clustering head or a search head to fit',
    );
  }
  const { set, skipped } = request.images
    ? { set: request.images, skipped: [] }
    : await loadTrainingImages(request.data, request.spec, request.limit, hooks.onFile, request.library);
  const model = Autoencoder.create(request.spec);
  try {
    if (request.initFrom) await copyWeightsFrom(model, request.initFrom);
    const checkpoint = request.checkpointDir && request.spec.arch !== 'stacked' ? request.checkpointDir : null;
    let resumeHooks: TrainHooks = hooks;
    if (checkpoint) {
      if (existsSync(join(checkpoint, 'model.json'))) {
        const { model: saved, manifest } = await loadModel(checkpoint);
        model.writeWeights(saved.readWeights());
        saved.dispose();
        const done = manifest.training as { epoch: number; history: EpochRecord[] };
        resumeHooks = { ...resumeHooks, resume: { startEpoch: done.epoch + 1, history: done.history } };
      }
      resumeHooks = {
        ...resumeHooks,
        onEpochEnd: async (epoch, history) => {
          await saveModel(model, checkpoint, { epoch, history });
        },
      };
    }
    const result = await fitModel(model, set, request, resumeHooks);
    // After any clustering fine-tune (measured: pulling the raw codes, then fitting the head on
    // them, clusters better than pulling behind a head fitted first; README).
    if (request.spec.embedding) fitSearchHead(model, set);
    let testMse: number | null = null;
    if (request.data === FASHION_MNIST) {
      const errors = reconstructionErrors(model, await loadFashionMnist('test'));
      testMse = errors.reduce((a, b) => a + b, 0) / errors.length;
    }
    await saveModel(model, request.outDir, {
      data: request.data === FASHION_MNIST || request.data === LIBRARY_DATA ? request.data : 'folder',
      images: set.count,
      options: request.options,
      history: result.history,
      testMse,
      ...(result.valAccuracy !== undefined ? { valAccuracy: result.valAccuracy } : {}),
      ...(result.clustering ? { clustering: result.clustering } : {}),
      ...(request.initFrom ? { initFrom: basename(request.initFrom) } : {}),
    });
    if (checkpoint) await rm(checkpoint, { recursive: true, force: true });
    return { modelDir: request.outDir, images: set.count, skipped, result, testMse };
  } finally {
    model.dispose();
  }
}

/**
 * Threads pay off once there is enough work to share: on wasm (one thread per instance) with
 * ≥ MIN_PARALLEL_IMAGES images, training runs data-parallel across `request.workers` threads.
 * The stacked AE's dense layers train fast enough in this thread; a two-view objective is sharded
 * only when each replica's share of a batch keeps enough images to compare (`shardsTwoViews`).
 */
const MIN_PARALLEL_IMAGES = 1024;

async function fitModel(model: Autoencoder, set: ImageSet, request: TrainRequest, hooks: TrainHooks): Promise<TrainResult> {
  if (request.spec.arch === 'stacked') return trainStacked(model, set, request.options, hooks);
  const parallel =
    request.workers >= 2 &&
    request.backend === 'wasm' &&
    set.count >= MIN_PARALLEL_IMAGES &&
    shardsTwoViews(request.spec, request.options.batchSize, request.workers);
  const pool = parallel ? await ModelWorkerPool.start(model, request.workers, request.backend) : null;
  try {
    const epochs = request.options.epochs;
    let result: TrainResult = { history: [], stoppedEarly: false, bestEpoch: 0, imagesPerSec: 0 };
    if (epochs > 0) {
      result = pool ? await pool.train(model, set, request.options, hooks) : await trainAutoencoder(model, set, request.options, hooks);
    }
    if (!request.spec.clustering) return result;
    const { onProgress, signal } = hooks;
    const clusterHooks: TrainHooks = { ...(onProgress ? { onProgress } : {}), ...(signal ? { signal } : {}) };
    const runner: ClusterRunner | undefined = pool
      ? {
          encode: (m, s) => pool.encode(s, m.latentSize),
          fit: (m, s, options, h, start) => pool.fitClusters(m, s, options, h, start),
        }
      : undefined;
    await pool?.syncWeights(model); // early stopping may have restored an earlier epoch here
    const clustering = await finetuneClusters(model, set, request.options, clusterHooks, runner);
    return {
      ...clustering,
      history: [...result.history, ...clustering.history],
      imagesPerSec: epochs > 0 ? result.imagesPerSec : clustering.imagesPerSec,
    };
  } finally {
    await pool?.close();
  }
}

/**
 * Copies a saved model's weights into `model`; the specs must agree apart from the clustering
 * head, the search head, the two-view objective and the seed. A projection head comes along only
 * when both specs have the same one; otherwise it starts fresh, so a plain model can be
 * fine-tuned with two views.
 */
async function copyWeightsFrom(model: Autoencoder, dir: string): Promise<void> {
  const { model: saved } = await loadModel(dir);
  try {
    const strip = (spec: ModelSpec) =>
      JSON.stringify({ ...spec, clustering: undefined, embedding: undefined, contrastive: undefined, seed: undefined });
    if (strip(saved.spec) !== strip(model.spec)) {
      throw new AppError(
        'invalid_input',
        `the model in ${basename(dir)} has a different architecture (${strip(saved.spec)}) from the one requested (${strip(model.spec)})`,
      );
    }
    const weights = saved.readWeights();
    // A search head fits the codes it was fitted on; training changes them, so it is fitted afresh.
    weights.delete(HEAD_MEAN);
    weights.delete(HEAD_PROJECTION);
    const head = (spec: ModelSpec) => JSON.stringify(spec.contrastive ? [spec.contrastive.loss, spec.contrastive.projection] : null);
    if (head(saved.spec) !== head(model.spec)) {
      for (const name of [...weights.keys()]) if (name.startsWith(PROJECTION) || name.startsWith(PREDICTOR)) weights.delete(name);
    }
    if (!model.spec.clustering) weights.delete(CENTERS);
    else if (saved.spec.clustering?.clusters !== model.spec.clustering.clusters) weights.delete(CENTERS);
    model.writeWeights(weights);
  } finally {
    saved.dispose();
  }
}

/** Default directory of a new model: <modelsDir>/<arch>-<timestamp>. */
export function defaultModelDir(modelsDir: string, spec: ModelSpec): string {
  return join(modelsDir, `${spec.arch}-${new Date().toISOString().replace(/[:.]/g, '-')}`);
}
