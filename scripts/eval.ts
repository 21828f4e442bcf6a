/**
 * npm run eval -- fashion-mnist [--model <dir>] [--out <file.md>] [--epochs 8] [--cluster-finetune]
 * npm run eval -- chest-xray --model <dir>      (each X-ray queries the others; k-means, k = classes)
 * Retrieval and clustering quality of a model's latent space next to raw pixels and PCA, all
 * measured in this run. Without --model, the reference CAE is trained first, with its search head
 * (with --cluster-finetune: then self-labelled into 10 clusters without labels, README's recipe).
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
import { presetSpec } from '../lib/models/spec';
import { trainOptionsSchema } from '../lib/models/train';
import { evaluateEmbeddings, evaluationTable } from '../lib/services/evaluate-service';
import { defaultModelDir, trainModel } from '../lib/services/train-service';
import { runCli } from './cli/run';

const LABELLED = { 'chest-xray': new URL('../../shared/data/chest-xray', import.meta.url).pathname } as const;

const program = new Command('eval')
  .argument('<dataset>', "'fashion-mnist', 'chest-xray' (../shared/data, needs --model), or a folder with labels.csv")
  .option('--model <dir>', 'a saved model (default: train the reference CAE first)')
  .option('--epochs <n>', 'epochs when training the reference CAE', '8')
  .option(
    '--cluster-finetune',
    'train the reference CAE, self-label it into 10 clusters (balanced N2D pseudo-labels, γ 0.05, 3 passes; no labels), then evaluate it',
  )
  .option('--umap', 'also cluster on a UMAP of the latents (N2D), reported as model_umap')
  .option('--out <file>', 'Markdown table (default data/eval/<dataset>-<model>.md)');

await runCli(async () => {
  program.parse();
  const [dataset] = program.args as [string];
  const o = program.opts<{ model?: string; epochs: string; out?: string; umap?: boolean; clusterFinetune?: boolean }>();
  if (o.clusterFinetune && o.model)
    throw new AppError('invalid_input', '--cluster-finetune trains a new model; it cannot be combined with --model');
  if (dataset !== 'fashion-mnist' && !o.model)
    throw new AppError('invalid_input', `evaluating '${dataset}' needs --model <dir> (a model trained on such images)`);
  const config = parseConfig();
  const engine = await initEngine(config.backend);
  let dir = o.model;
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
          epochs: z.coerce.number().int().min(1).parse(o.epochs),
          validationSplit: 0,
          ...(o.clusterFinetune ? { clustering: { target: 'fixed', balanced: true, confident: 1, epochs: 3 } } : {}),
        }),
      },
      {
        onProgress: (p) => {
          if (p.epochDone) process.stderr.write(`${p.phase} epoch ${p.epoch}/${p.epochs} loss ${p.loss.toFixed(5)}\n`);
        },
      },
    );
  }
  const { model } = await loadModel(dir);
  const started = performance.now();
  let train;
  let test;
  if (dataset === 'fashion-mnist') {
    train = await loadFashionMnist('train');
    test = await loadFashionMnist('test');
  } else {
    const [height, width, channels] = model.spec.inputShape;
    const folder = LABELLED[dataset as keyof typeof LABELLED] ?? dataset;
    train = test = (await loadLabelledFolder(folder, { height, width, channels })).set;
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
