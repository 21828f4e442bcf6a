/**
 * Real latent codes for the scale benchmarks: the 70,000 Fashion-MNIST images (train + test)
 * embedded by a real trained model (reference-cae, 2 epochs on 12,000 images; trained and
 * embedded once, then cached under data/bench-scale/), and as many distinct vectors as a
 * benchmark needs made from them: vector i is the code of image i mod 70,000 plus Gaussian noise
 * of 0.1 × each dimension's spread.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadFashionMnist } from '../../lib/data/fashion-mnist';
import { initEngine } from '../../lib/engine/backend';
import { embedImages } from '../../lib/models/inference';
import { seededRandom } from '../../lib/random';
import { loadModel } from '../../lib/models/model-io';
import { presetSpec } from '../../lib/models/spec';
import { trainOptionsSchema } from '../../lib/models/train';
import { trainModel } from '../../lib/services/train-service';

export const BENCH_HOME = resolve('data', 'bench-scale');
export const BENCH_MODEL_DIR = join(BENCH_HOME, 'model-fmnist');
/** Fashion-MNIST images whose codes are reused: image i of a benchmark library is code i mod BASE. */
export const BASE = 70_000;
const CODES = join(BENCH_HOME, 'codes.f32');
const LABELS = join(BENCH_HOME, 'labels.u8');

export interface FashionCodes {
  /** BASE × dim, row-major. */
  codes: Float32Array;
  /** Class (0–9) of each of the BASE images. */
  labels: Uint8Array;
  dim: number;
}

const log = (message: string) => process.stderr.write(`${message}\n`);

/** The codes and labels, training and embedding on first use. */
export async function fashionCodes(): Promise<FashionCodes> {
  mkdirSync(BENCH_HOME, { recursive: true });
  if (!existsSync(join(BENCH_MODEL_DIR, 'model.json'))) {
    log('training the reference-cae on 12,000 Fashion-MNIST images for 2 epochs (once)…');
    const engine = await initEngine();
    await trainModel({
      data: 'fashion-mnist',
      spec: presetSpec('reference-cae', { embedding: {} }),
      options: trainOptionsSchema.parse({ epochs: 2 }),
      limit: 12_000,
      outDir: BENCH_MODEL_DIR,
      workers: 1,
      backend: engine.backend,
    });
  }
  if (!existsSync(CODES) || !existsSync(LABELS)) {
    log('embedding the 70,000 Fashion-MNIST images (once)…');
    await initEngine();
    const { model } = await loadModel(BENCH_MODEL_DIR);
    const parts: Float32Array[] = [];
    const labels: number[] = [];
    for (const split of ['train', 'test'] as const) {
      const set = await loadFashionMnist(split);
      parts.push(embedImages(model, set, { batchSize: 500 }));
      labels.push(...set.labels!);
    }
    model.dispose();
    const codes = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
    parts.reduce((at, p) => (codes.set(p, at), at + p.length), 0);
    writeFileSync(CODES, new Uint8Array(codes.buffer));
    writeFileSync(LABELS, Uint8Array.from(labels));
  }
  const raw = readFileSync(CODES);
  const codes = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
  const labels = new Uint8Array(readFileSync(LABELS));
  return { codes, labels, dim: codes.length / labels.length };
}

/** Class of benchmark image id (1-based, in insertion order). */
export const labelOfImage = (labels: Uint8Array, imageId: number) => labels[(imageId - 1) % BASE]!;

function gaussian(random: () => number): number {
  return Math.sqrt(-2 * Math.log(random() || 1e-12)) * Math.cos(2 * Math.PI * random());
}

/**
 * A writer of noisy codes: `write(i, out)` fills `out` with vector i (code i mod BASE plus noise
 * of 0.1 × each dimension's spread). Seeded: the same calls in the same order give the same vectors.
 */
export function noisyCodes({ codes, dim }: FashionCodes, seed = 7): (i: number, out: Float32Array) => void {
  const spread = new Float32Array(dim);
  for (let i = 0; i < BASE; i++) for (let j = 0; j < dim; j++) spread[j]! += codes[i * dim + j]! ** 2 / BASE;
  for (let j = 0; j < dim; j++) spread[j] = 0.1 * Math.sqrt(spread[j]!);
  const random = seededRandom(seed);
  return (i, out) => {
    const base = i % BASE;
    for (let j = 0; j < dim; j++) out[j] = codes[base * dim + j]! + spread[j]! * gaussian(random);
  };
}
