/**
 * npm run bench:train [-- --reference] [--images 8192] [--workers N]
 *
 * Trains (one epoch, batch 128, Adam 1e-3, MSE) and embeds the reference convolutional
 * autoencoder — exactly ../shared/bench/reference_cae.py — on the first Fashion-MNIST training
 * images, and prints one JSON line. With --reference, the PyTorch reference runs first in the
 * same invocation and the line adds its numbers and our ratios to it.
 *
 * `train_aug_img_s`: the same model with the two-view objective (garment views, NT-Xent, weight 1)
 * on 2,048 of the images: each step draws two augmented views of every image and encodes all three
 * (one thread, as before; training on 1,024 images or more now shards it across the worker pool,
 * each replica comparing its share of the batch: docs/models.md).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Command } from 'commander';
import { z } from 'zod';
import { parseConfig } from '../lib/config';
import { loadFashionMnist } from '../lib/data/fashion-mnist';
import { initEngine } from '../lib/engine/backend';
import { AppError } from '../lib/errors';
import { Autoencoder } from '../lib/models/autoencoder';
import { headImages } from '../lib/data/image-set';
import { embedImages } from '../lib/models/inference';
import { presetSpec } from '../lib/models/spec';
import { trainAutoencoder, trainOptionsSchema } from '../lib/models/train';
import { ModelWorkerPool } from '../lib/engine/parallel/worker-pool';
import { runCli } from './cli/run';

const REFERENCE = new URL('../../shared/bench/reference_cae.py', import.meta.url).pathname;

const program = new Command('bench:train')
  .option('--reference', 'run the PyTorch reference first (needs python3-torch) and report ratios')
  .option('--images <n>', 'training images', '8192')
  .option('--workers <n>', 'worker threads (default: LATENT_ATLAS_WORKERS or the number of cores)');

function runReference(images: number, threads: number): Record<string, number | string> {
  if (!existsSync(REFERENCE)) throw new AppError('not_found', `reference script not found at ${REFERENCE}`);
  const run = spawnSync('/usr/bin/python3', [REFERENCE, String(images), String(threads), '1'], { encoding: 'utf8' });
  if (run.status !== 0)
    throw new AppError('internal', `PyTorch reference failed (apt-get install -y python3-torch?): ${run.stderr.trim().split('\n').at(-1)}`);
  return JSON.parse(run.stdout.trim().split('\n').at(-1)!) as Record<string, number | string>;
}

await runCli(async () => {
  program.parse();
  const o = program.opts<{ reference?: boolean; images: string; workers?: string }>();
  const config = parseConfig();
  const images = z.coerce.number().int().min(512).parse(o.images);
  const workers = o.workers ? z.coerce.number().int().min(1).max(64).parse(o.workers) : config.workers;
  const reference = o.reference ? runReference(images, workers) : null;

  const engine = await initEngine(config.backend);
  const set = await loadFashionMnist('train', { limit: images });
  const options = trainOptionsSchema.parse({ epochs: 1, batchSize: 128, learningRate: 1e-3, validationSplit: 0 });
  const model = Autoencoder.create(presetSpec('reference-cae'));
  const parallel = workers > 1 && engine.backend === 'wasm';
  const pool = parallel ? await ModelWorkerPool.start(model, workers, engine.backend) : null;
  const train = (s: typeof set) => (pool ? pool.train(model, s, options) : trainAutoencoder(model, s, options));
  const embed = (s: typeof set) =>
    pool ? pool.encode(s, model.latentSize, { batchSize: 1000, embed: true }) : Promise.resolve(embedImages(model, s));
  try {
    await train(headImages(set, 512)); // warm-up, as the reference does
    let started = performance.now();
    const result = await train(set);
    const trainImgS = images / ((performance.now() - started) / 1000);
    await embed(headImages(set, 1000));
    started = performance.now();
    await embed(set);
    const embedImgS = images / ((performance.now() - started) / 1000);
    const twoViews = Autoencoder.create(presetSpec('reference-cae', { contrastive: { views: 'garment' } }));
    const augImages = Math.min(images, 2048);
    let augImgS: number;
    try {
      await trainAutoencoder(twoViews, headImages(set, 256), options); // warm-up
      started = performance.now();
      await trainAutoencoder(twoViews, headImages(set, augImages), options);
      augImgS = augImages / ((performance.now() - started) / 1000);
    } finally {
      twoViews.dispose();
    }
    const line: Record<string, unknown> = {
      backend: engine.backend,
      workers: pool ? workers : 1,
      n: images,
      epochs: 1,
      batch: 128,
      train_img_s: Math.round(trainImgS),
      embed_img_s: Math.round(embedImgS),
      train_aug_img_s: Math.round(augImgS),
      train_aug_images: augImages,
      last_epoch_loss: Number(result.history[0]!.loss.toFixed(5)),
    };
    if (reference) {
      line.reference = reference;
      line.train_ratio = Number((trainImgS / Number(reference.train_img_s)).toFixed(2));
      line.embed_ratio = Number((embedImgS / Number(reference.embed_img_s)).toFixed(2));
    }
    console.log(JSON.stringify(line));
  } finally {
    await pool?.close();
    model.dispose();
  }
});
