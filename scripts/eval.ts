/**
 * npm run eval -- fashion-mnist [--model <dir>] [--out <file.md>] [--epochs 8] [--cluster-finetune]
 * npm run eval -- chest-xray [--model <dir>]    (each X-ray queries the others; k-means, k = classes;
 *   without --model the xray-cae preset is trained on the 200 X-rays first)
 * npm run eval -- flowers [--model <dir>] [--epochs n]   (the 100 flowers of ../shared/data/photos:
 *   without --model the photo-cae preset is trained on them first, as a user would: transductive)
 * Retrieval and clustering quality of a model's latent space next to raw pixels and PCA, all
 * measured in this run. Without --model, the reference CAE is trained first, with its search head
 * (with --cluster-finetune: then self-labelled into 10 clusters without labels, docs/experiments.md's recipe).
 * Prints one JSON line and writes a Markdown table.
 */
import { basename, join } from 'node:path';
import { Command } from 'commander';
import { z } from 'zod';
import { parseConfig } from '../lib/config';
import { writeFileDurable } from '../lib/durable-file';
import { FASHION_MNIST_CLASSES, loadFashionMnist } from '../lib/data/fashion-mnist';
import { loadLabelledFolder } from '../lib/data/labelled-folder';
import { initEngine } from '../lib/engine/backend';
import { AppError } from '../lib/errors';
import { loadModel } from '../lib/models/model-io';
import { PRESET_TRAINING } from '../lib/models/presets';
import { PRESETS, presetSpec, type PresetName } from '../lib/models/spec';
import { trainOptionsSchema } from '../lib/models/train';
import { evaluateEmbeddings, evaluationTable } from '../lib/services/evaluate-service';
import { defaultModelDir, trainModel } from '../lib/services/train-service';
import type { ImageSet } from '../lib/data/image-set';
import type { TrainProgress } from '../lib/training/fit';
import { runCli } from './cli/run';

const SHARED_DATA = new URL('../../shared/data/', import.meta.url).pathname;

/** Named labelled sets: a folder with labels.csv, the files to keep, and the preset trained on them when no --model is given. */
const LABELLED: Readonly<Record<string, { dir: string; include?: (file: string) => boolean; preset?: PresetName }>> = Object.freeze({
  'chest-xray': { dir: join(SHARED_DATA, 'chest-xray'), preset: 'xray-cae' },
  flowers: { dir: join(SHARED_DATA, 'photos'), include: (file: string) => file.startsWith('flowers_'), preset: 'photo-cae' },
});

const program = new Command('eval')
  .argument('<dataset>', "'fashion-mnist', 'flowers' or 'chest-xray' (../shared/data), or a folder with labels.csv (needs --model)")
  .option(
    '--model <dir>',
    'a saved model (default: train first: the reference CAE; for flowers photo-cae, for chest-xray xray-cae, on them)',
  )
  .option('--epochs <n>', 'epochs when training first (default 8 for the reference CAE, the preset recipe for flowers)')
  .option(
    '--cluster-finetune',
    'train the reference CAE, self-label it into 10 clusters (balanced N2D pseudo-labels, γ 0.05, 3 passes; no labels), then evaluate it',
  )
  .option('--spec <json>', 'with flowers or chest-xray and no --model: spec fields over the preset, e.g. \'{"contrastive":{"weight":0}}\'')
  .option('--lr <rate>', 'with flowers or chest-xray and no --model: Adam learning rate (default 1e-3)')
  .option('--batch-size <n>', "with flowers or chest-xray and no --model: images per step (default: the preset's recipe)")
  .option('--seed <n>', 'with flowers or chest-xray and no --model: seed of the initial weights, the shuffle and the views (default 42)')
  .option('--umap', 'also cluster on a UMAP of the latents (N2D), reported as model_umap')
  .option('--out <file>', 'Markdown table (default data/eval/<dataset>-<model>.md)');

await runCli(async () => {
  program.parse();
  const [dataset] = program.args as [string];
  const o = program.opts<{
    model?: string;
    epochs?: string;
    batchSize?: string;
    lr?: string;
    spec?: string;
    seed?: string;
    out?: string;
    umap?: boolean;
    clusterFinetune?: boolean;
  }>();
  if (o.clusterFinetune && o.model)
    throw new AppError('invalid_input', '--cluster-finetune trains a new model; it cannot be combined with --model');
  const named = LABELLED[dataset];
  if (dataset !== 'fashion-mnist' && !o.model && !named?.preset)
    throw new AppError('invalid_input', `evaluating '${dataset}' needs --model <dir> (a model trained on such images)`);
  const epochs = o.epochs === undefined ? undefined : z.coerce.number().int().min(1).parse(o.epochs);
  const seed = o.seed === undefined ? undefined : z.coerce.number().int().min(0).parse(o.seed);
  const config = parseConfig();
  const engine = await initEngine(config.backend);
  const log = (p: TrainProgress) => {
    if (p.epochDone) {
      const parts = Object.entries(p.parts ?? {}).map(([k, v]) => ` ${k} ${v.toFixed(5)}`);
      process.stderr.write(`${p.phase} epoch ${p.epoch}/${p.epochs} loss ${p.loss.toFixed(5)}${parts.join('')}\n`);
    }
  };
  let dir = o.model;
  let preloaded: ImageSet | undefined;
  if (!dir && named?.preset) {
    const spec = presetSpec(named.preset, {
      embedding: PRESETS[named.preset].embedding ?? {},
      ...(seed === undefined ? {} : { seed }),
      ...(o.spec ? (JSON.parse(o.spec) as Record<string, unknown>) : {}),
    });
    const [height, width, channels] = spec.inputShape;
    preloaded = (await loadLabelledFolder(named.dir, { height, width, channels }, named.include)).set;
    dir = defaultModelDir(config.modelsDir, spec);
    const recipe = PRESET_TRAINING[named.preset];
    process.stderr.write(`no --model: training ${named.preset} on the ${preloaded.count} images of '${dataset}' into ${dir}\n`);
    const trainStarted = performance.now();
    await trainModel(
      {
        data: dataset,
        images: preloaded,
        spec,
        outDir: dir,
        workers: config.workers,
        backend: engine.backend,
        options: trainOptionsSchema.parse({
          epochs: epochs ?? recipe.epochs,
          batchSize: o.batchSize ? z.coerce.number().int().min(1).parse(o.batchSize) : recipe.batchSize,
          validationSplit: 0,
          ...(seed === undefined ? {} : { seed }),
          ...(o.lr ? { learningRate: z.coerce.number().parse(o.lr) } : {}),
        }),
      },
      { onProgress: log },
    );
    process.stderr.write(`trained in ${((performance.now() - trainStarted) / 1000).toFixed(1)} s\n`);
  }
  if (!dir) {
    const spec = presetSpec('reference-cae', {
      embedding: {},
      ...(o.clusterFinetune ? { clustering: { clusters: FASHION_MNIST_CLASSES.length, gamma: 0.05 } } : {}),
    });
    dir = defaultModelDir(config.modelsDir, spec);
    process.stderr.write(
      `no --model: training the reference CAE${o.clusterFinetune ? ' with a clustering head' : ''} for ${o.epochs} epochs into ${dir}\n`,
    );
    await trainModel(
      {
        data: 'fashion-mnist',
        spec,
        outDir: dir,
        workers: config.workers,
        backend: engine.backend,
        options: trainOptionsSchema.parse({
          epochs: epochs ?? 8,
          validationSplit: 0,
          ...(o.clusterFinetune ? { clustering: { target: 'fixed', balanced: true, confident: 1, epochs: 3 } } : {}),
        }),
      },
      { onProgress: log },
    );
  }
  const { model } = await loadModel(dir);
  const started = performance.now();
  let train;
  let test;
  if (dataset === 'fashion-mnist') {
    train = await loadFashionMnist('train');
    test = await loadFashionMnist('test');
  } else if (preloaded) {
    train = test = preloaded;
  } else {
    const [height, width, channels] = model.spec.inputShape;
    train = test = (await loadLabelledFolder(named?.dir ?? dataset, { height, width, channels }, named?.include)).set;
  }
  const evaluation = await evaluateEmbeddings(model, dataset, train, test, {
    workers: config.workers,
    backend: engine.backend,
    umap: o.umap ?? false,
    onStep: (step) => process.stderr.write(`${step}… (${((performance.now() - started) / 1000).toFixed(0)} s)\n`),
  });
  const out = o.out ?? join(config.dataDir, 'eval', `${basename(dataset)}-${basename(dir)}.md`);
  await writeFileDurable(out, evaluationTable(evaluation, basename(dir)));
  process.stderr.write(`table written to ${out}\n`);
  console.log(JSON.stringify({ ...evaluation, modelDir: dir, seconds: Number(((performance.now() - started) / 1000).toFixed(1)) }));
});
