/**
 * How good are the embeddings? Retrieval precision@10 (each test image queries the training
 * images; exact and through HNSW, with the index's recall) and k-means clustering against the
 * labels (ACC, NMI, ARI) for the model's latents, next to baselines computed in the same run:
 * raw pixels, PCA to the latent size and, for colour images, the HSV colour histogram under the
 * Hellinger distance (the classic retrieval baseline a photo model must beat).
 */
import { kmeans } from '../clustering/kmeans';
import { adjustedRandIndex, clusteringAccuracy, normalizedMutualInfo, precisionAtK } from '../clustering/metrics';
import { applyPca, fitPca } from '../clustering/pca';
import { umapFromNeighbors } from '../clustering/umap';
import { exactKnn } from '../engine/linear-algebra';
import type { BackendName } from '../engine/backend';
import type { Autoencoder } from '../models/autoencoder';
import { imageSize, type ImageSet } from '../data/image-set';
import { embedImages } from '../models/inference';
import { bestK, chooseK } from './cluster-service';
import { ModelWorkerPool } from '../engine/parallel/worker-pool';
import { vectorIndexBackend } from '../vector-index/backends';
import { DEFAULT_HSV_BINS, hellingerHistograms } from '../vectors/colour-histogram';

export interface MethodScores {
  dim: number;
  p_at_10: number;
  kmeans_acc: number;
  kmeans_nmi: number;
  kmeans_ari: number;
  hnsw_p_at_10?: number;
  hnsw_recall_at_10?: number;
  /** The k that the Clusters page's auto k (largest neighbour-graph eigengap over 2–20, seed 0) picks on these vectors. */
  auto_k?: number;
  seconds: number;
}

export interface Evaluation {
  dataset: string;
  train: number;
  test: number;
  /** One labelled set in which each image queries the others (the chest X-rays), not train/test. */
  within: boolean;
  classes: number;
  model: MethodScores;
  raw: MethodScores;
  pca: MethodScores;
  /** Colour images only: HSV 8×4×4 histograms, Hellinger distance. */
  histogram?: MethodScores;
  model_umap?: MethodScores;
}

function labelsOf(set: ImageSet): Int32Array {
  if (!set.labels) throw new Error('evaluation needs labelled images');
  return Int32Array.from(set.labels);
}

function pixelsAsFloats(set: ImageSet): Float32Array {
  return Float32Array.from(set.pixels, (v) => (set.pixels instanceof Uint8Array ? v / 255 : v));
}

function concat(a: Float32Array, b: Float32Array): Float32Array {
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * Scores one representation. `within`: test is train itself (a small labelled set): each image
 * queries all the others, and clustering runs once over the set.
 */
function score(
  train: Float32Array,
  test: Float32Array,
  dim: number,
  trainLabels: Int32Array,
  testLabels: Int32Array,
  classes: number,
  withIndex: boolean,
  within = false,
): MethodScores {
  const started = performance.now();
  const nTrain = trainLabels.length;
  const nTest = testLabels.length;
  const knn = exactKnn(test, nTest, train, nTrain, dim, 10, { skipSelf: within });
  const neighbourLabels = Array.from({ length: nTest }, (_, q) =>
    Array.from(knn.indices.subarray(q * 10, q * 10 + 10), (i) => trainLabels[i]!),
  );
  const all = within ? train : concat(train, test);
  const labels = within ? trainLabels : Int32Array.from([...trainLabels, ...testLabels]);
  const clusters = kmeans(all, labels.length, dim, { k: classes, seed: 0, restarts: 3 }).assignments;
  const scores: MethodScores = {
    dim,
    p_at_10: precisionAtK(testLabels, neighbourLabels),
    kmeans_acc: clusteringAccuracy(labels, clusters),
    kmeans_nmi: normalizedMutualInfo(labels, clusters),
    kmeans_ari: adjustedRandIndex(labels, clusters),
    seconds: 0,
  };
  if (withIndex) {
    const index = vectorIndexBackend().create('/nonexistent/eval-index', { dim, space: 'l2' }, nTrain);
    const entries = Array.from({ length: nTrain }, (_, i) => ({ id: i + 1, vector: train.subarray(i * dim, (i + 1) * dim) }));
    for (let s = 0; s < nTrain; s += 10_000) index.add(entries.slice(s, s + 10_000));
    let found = 0;
    const hnswLabels = Array.from({ length: nTest }, (_, q) => {
      const hits = index
        .search(test.subarray(q * dim, (q + 1) * dim), within ? 11 : 10)
        .map((h) => h.id - 1)
        .filter((i) => !within || i !== q)
        .slice(0, 10);
      const exact = new Set(knn.indices.subarray(q * 10, q * 10 + 10));
      found += hits.filter((h) => exact.has(h)).length;
      return hits.map((i) => trainLabels[i]!);
    });
    scores.hnsw_p_at_10 = precisionAtK(testLabels, hnswLabels);
    scores.hnsw_recall_at_10 = found / (nTest * 10);
  }
  scores.seconds = (performance.now() - started) / 1000;
  return scores;
}

/**
 * N2D-style clustering: UMAP of the latents to `classes` dimensions (20 neighbours from the HNSW
 * index, min_dist 0), then k-means. Retrieval numbers are the latent space's own.
 */
async function umapClustering(
  latents: Float32Array,
  dim: number,
  labels: Int32Array,
  classes: number,
  base: MethodScores,
): Promise<MethodScores> {
  const started = performance.now();
  const n = labels.length;
  const k = 20;
  const index = vectorIndexBackend().create('/nonexistent/eval-umap', { dim, space: 'l2' }, n);
  const entries = Array.from({ length: n }, (_, i) => ({ id: i + 1, vector: latents.subarray(i * dim, (i + 1) * dim) }));
  for (let s = 0; s < n; s += 10_000) index.add(entries.slice(s, s + 10_000));
  const indices = new Int32Array(n * k);
  const distances = new Float32Array(n * k);
  for (let i = 0; i < n; i++) {
    const hits = index
      .search(latents.subarray(i * dim, (i + 1) * dim), k + 1)
      .filter((h) => h.id !== i + 1)
      .slice(0, k);
    hits.forEach((h, j) => {
      indices[i * k + j] = h.id - 1;
      distances[i * k + j] = Math.sqrt(h.distance);
    });
  }
  const embedded = await umapFromNeighbors(latents, n, dim, indices, distances, k, {
    components: classes,
    neighbors: k,
    minDist: 0,
    seed: 0,
  });
  const clusters = kmeans(embedded, n, classes, { k: classes, seed: 0, restarts: 3 }).assignments;
  return {
    dim: classes,
    p_at_10: base.p_at_10,
    kmeans_acc: clusteringAccuracy(labels, clusters),
    kmeans_nmi: normalizedMutualInfo(labels, clusters),
    kmeans_ari: adjustedRandIndex(labels, clusters),
    seconds: (performance.now() - started) / 1000,
  };
}

async function embed(model: Autoencoder, set: ImageSet, workers: number, backend: BackendName): Promise<Float32Array> {
  if (workers < 2 || backend !== 'wasm') return embedImages(model, set);
  const pool = await ModelWorkerPool.start(model, workers, backend);
  try {
    return await pool.encode(set, model.latentSize, { embed: true });
  } finally {
    await pool.close();
  }
}

/** Evaluates `model` on a labelled train/test pair; `onStep` names each phase as it starts. */
/**
 * Evaluates `model` on a labelled train/test pair; pass the same set twice for a small labelled
 * collection (each image then queries all the others). `onStep` names each phase as it starts.
 */
export async function evaluateEmbeddings(
  model: Autoencoder,
  dataset: string,
  train: ImageSet,
  test: ImageSet,
  options: { workers: number; backend: BackendName; umap?: boolean; onStep?: (step: string) => void },
): Promise<Evaluation> {
  const within = train === test;
  const trainLabels = labelsOf(train);
  const testLabels = labelsOf(test);
  const classes = new Set([...trainLabels, ...testLabels]).size;
  options.onStep?.('embedding');
  const trainLatent = await embed(model, train, options.workers, options.backend);
  const testLatent = within ? trainLatent : await embed(model, test, options.workers, options.backend);
  const latent = model.latentSize;
  options.onStep?.('model');
  const modelScores = score(trainLatent, testLatent, latent, trainLabels, testLabels, classes, true, within);
  if (within) modelScores.auto_k = bestK(chooseK(trainLatent, train.count, latent, [2, Math.min(20, train.count - 1)], 0));
  const rawTrain = pixelsAsFloats(train);
  const rawTest = within ? rawTrain : pixelsAsFloats(test);
  const pixels = imageSize(train);
  options.onStep?.('pca');
  const pca = fitPca(rawTrain, train.count, pixels, Math.min(latent, pixels, train.count));
  const pcaTrain = applyPca(pca, rawTrain, train.count);
  const pcaScores = score(
    pcaTrain,
    within ? pcaTrain : applyPca(pca, rawTest, test.count),
    pca.components,
    trainLabels,
    testLabels,
    classes,
    false,
    within,
  );
  let umapScores: MethodScores | undefined;
  if (options.umap) {
    options.onStep?.('umap');
    umapScores = await umapClustering(
      within ? trainLatent : concat(trainLatent, testLatent),
      latent,
      within ? trainLabels : Int32Array.from([...trainLabels, ...testLabels]),
      classes,
      modelScores,
    );
  }
  let histogramScores: MethodScores | undefined;
  if (train.channels === 3) {
    options.onStep?.('histogram');
    const bins = DEFAULT_HSV_BINS.hue * DEFAULT_HSV_BINS.saturation * DEFAULT_HSV_BINS.value;
    const histTrain = hellingerHistograms(train.pixels, train.count, 3);
    const histTest = within ? histTrain : hellingerHistograms(test.pixels, test.count, 3);
    histogramScores = score(histTrain, histTest, bins, trainLabels, testLabels, classes, false, within);
  }
  options.onStep?.('raw');
  const rawScores = score(rawTrain, rawTest, pixels, trainLabels, testLabels, classes, false, within);
  return {
    dataset,
    train: train.count,
    test: test.count,
    within,
    classes,
    model: modelScores,
    raw: rawScores,
    pca: pcaScores,
    ...(histogramScores ? { histogram: histogramScores } : {}),
    ...(umapScores ? { model_umap: umapScores } : {}),
  };
}

/** The evaluation as a Markdown table. */
export function evaluationTable(e: Evaluation, modelName: string): string {
  const f = (v: number | undefined) => (v === undefined ? '–' : v.toFixed(3));
  const methods: [keyof Evaluation, string][] = [['model', `${modelName} (latent ${e.model.dim})`]];
  if (e.model_umap) methods.push(['model_umap', `${modelName} + UMAP(${e.model_umap.dim}) + k-means`]);
  methods.push(['pca', `PCA of pixels to ${e.pca.dim}`], ['raw', `raw pixels (${e.raw.dim})`]);
  if (e.histogram) methods.push(['histogram', `HSV colour histogram (${e.histogram.dim} bins, Hellinger)`]);
  const rows = methods.map(([key, name]) => {
    const m = e[key] as MethodScores;
    return `| ${name} | ${f(m.p_at_10)} | ${f(m.hnsw_p_at_10)} | ${f(m.hnsw_recall_at_10)} | ${f(m.kmeans_acc)} | ${f(m.kmeans_nmi)} | ${f(m.kmeans_ari)} |`;
  });
  return [
    e.within
      ? `# Evaluation on ${e.dataset}: each of ${e.train} images queries the other ${e.train - 1}; k-means (k = ${e.classes}) on the ${e.train}`
      : `# Evaluation on ${e.dataset}: ${e.train} training images queried by ${e.test} test images; k-means (k = ${e.classes}) on all ${e.train + e.test}`,
    '',
    '| method | precision@10 (exact) | precision@10 (HNSW) | HNSW recall@10 | k-means ACC | k-means NMI | k-means ARI |',
    '|---|---|---|---|---|---|---|',
    ...rows,
    '',
    ...(e.model.auto_k !== undefined
      ? [`Auto k (the Clusters page's, largest neighbour-graph eigengap over 2–20) on the model's vectors: ${e.model.auto_k}`, '']
      : []),
  ].join('\n');
}
