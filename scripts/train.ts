/**
 * npm run train -- --data <folder | fashion-mnist> [--arch dense|conv|stacked | --preset reference-cae] [options]
 * npm run train -- --data fashion-mnist --preset reference-cae --cluster-finetune 10   (IDEC clustering head)
 * Trains an autoencoder with a progress bar and saves it under data/models/ (or --out).
 */
import { Command, Option } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { z } from 'zod';
import { parseConfig } from '../lib/config';
import { parseOrThrow } from '../lib/validation';
import { initEngine } from '../lib/engine/backend';
import { AppError } from '../lib/errors';
import { PRESET_TRAINING } from '../lib/models/presets';
import {
  ARCHITECTURES,
  DOWNSAMPLING_MODES,
  LOSSES,
  PRESETS,
  UPSAMPLING_MODES,
  inputShapeOf,
  parseModelSpec,
  presetSpec,
  type PresetName,
} from '../lib/models/spec';
import { CLUSTER_INITS, CLUSTER_TARGETS, trainOptionsSchema } from '../lib/models/train';
import { defaultModelDir, FASHION_MNIST, trainModel } from '../lib/services/train-service';
import { openLibrary } from '../lib/services/library';
import { registerModelDir } from '../lib/services/model-service';
import { VIEW_KINDS } from '../lib/models/views';
import { abortOnSigint, runCli } from './cli/run';

const list = (value: string) => value.split(',').map((v) => Number(v.trim()));

const program = new Command('train')
  .description('Train an autoencoder on a folder of images or on Fashion-MNIST and save it.')
  .requiredOption('--data <source>', `a folder of images, or '${FASHION_MNIST}' (Debian package dataset-fashion-mnist)`)
  .addOption(new Option('--arch <arch>', 'architecture').choices(Object.keys(ARCHITECTURES)).default('conv'))
  .addOption(new Option('--preset <name>', 'a ready-made spec (overrides --arch)').choices(Object.keys(PRESETS)))
  .option('--spec <json>', 'extra spec fields as JSON, e.g. \'{"filters":[16,32]}\'')
  .option('--size <n>', "input height and width for folder images (default: the preset's, else 28; Fashion-MNIST is 28)")
  .addOption(new Option('--channels <n>', "input channels for folder images (default: the preset's, else 1)").choices(['1', '3']))
  .option('--latent <n>', 'latent (code) size', '32')
  .option('--hidden <list>', 'dense/stacked hidden layer sizes, comma-separated')
  .option('--filters <list>', 'conv encoder block widths, comma-separated')
  .addOption(new Option('--upsampling <mode>', 'conv decoder upsampling').choices(UPSAMPLING_MODES))
  .addOption(new Option('--downsample <mode>', 'conv encoder downsampling').choices(DOWNSAMPLING_MODES))
  .addOption(new Option('--loss <loss>', 'reconstruction loss').choices(LOSSES))
  .option('--sparse <rho,beta>', 'sparse AE: target activation rho and weight beta, e.g. 0.05,3')
  .option('--noise <factor>', 'denoising AE: std of the Gaussian noise added to inputs')
  .option('--classes <n>', 'stacked AE: number of classes (10 for Fashion-MNIST)')
  .option('--cluster-finetune <k>', 'clustering head (IDEC): after training, fine-tune the latents into k clusters (no labels)')
  .option('--cluster-gamma <g>', 'weight of the clustering loss next to reconstruction (default 0.02)')
  .option('--cluster-epochs <n>', 'cap on clustering fine-tune passes (default 4; stops earlier when assignments settle)')
  .addOption(new Option('--cluster-init <how>', 'where the cluster centres start (default umap: N2D partition)').choices(CLUSTER_INITS))
  .addOption(
    new Option(
      '--cluster-target <how>',
      "targets of the fine-tune: self (IDEC's, default) or fixed (the start's clusters as pseudo-labels)",
    ).choices(CLUSTER_TARGETS),
  )
  .option(
    '--cluster-confident <share>',
    'with --cluster-target fixed: share of each cluster, largest centre margin first, that is labelled (default 0.9)',
  )
  .option('--cluster-balanced', 'with --cluster-init umap: equal-sized N2D clusters (suits balanced collections)')
  .option(
    '--search-head <whiten>',
    "search head fitted after training: codes rotated onto their principal axes, scaled by σ^-whiten (0–1, default 0.5), L2-normalised; 'off': store the raw codes",
  )
  .option(
    '--two-views <weight>',
    "two-view (contrastive) objective beside reconstruction: its weight (0: off; default: the preset's); codes of two augmented views agree",
  )
  .addOption(new Option('--views <kind>', "what a view may change (default: the preset's, else photo)").choices(VIEW_KINDS))
  .option(
    '--init <dir>',
    'start from a saved model with the same architecture (with --epochs 0: only the clustering fine-tune and the search head)',
  )
  .option('--epochs <n>', "epochs (default: the preset's recipe, else 10)")
  .option('--batch-size <n>', "batch size (default: the preset's recipe, else 128)")
  .option('--lr <rate>', 'Adam learning rate', '0.001')
  .option('--val-split <fraction>', 'validation fraction', '0.1')
  .option('--patience <n>', 'early stopping patience in epochs (off by default)')
  .option('--seed <n>', 'seed for weights, shuffle and noise', '42')
  .option('--limit <n>', 'use only the first N images')
  .option('--out <dir>', 'model directory (default data/models/<arch>-<time>)')
  .option('--no-register', 'do not register the model in the library (it becomes active when none is)');

const numeric = z.coerce.number();

function specFromFlags(o: Record<string, string | undefined>, inputShape: [number, number, number]) {
  const extra = o.spec ? (JSON.parse(o.spec) as Record<string, unknown>) : {};
  const fields: Record<string, unknown> = { inputShape, ...extra };
  if (o.latent && !o.preset) fields.latentSize = numeric.parse(o.latent);
  if (o.hidden) fields.hidden = list(o.hidden);
  if (o.filters) fields.filters = list(o.filters);
  if (o.upsampling) fields.upsampling = o.upsampling;
  if (o.downsample) fields.downsample = o.downsample;
  if (o.loss) fields.loss = o.loss;
  if (o.noise) fields.denoising = { noiseFactor: numeric.parse(o.noise) };
  if (o.sparse) {
    const [rho, beta] = list(o.sparse);
    fields.sparse = { rho, beta };
    fields.latentActivation = 'sigmoid';
  }
  if (o.classes) fields.classes = numeric.parse(o.classes);
  if (o.clusterFinetune)
    fields.clustering = { clusters: numeric.parse(o.clusterFinetune), ...(o.clusterGamma ? { gamma: numeric.parse(o.clusterGamma) } : {}) };
  const presetHead = o.preset ? (PRESETS[o.preset as PresetName] as { embedding?: object }).embedding : undefined;
  if (o.searchHead === undefined)
    fields.embedding = { ...presetHead }; // the preset's head, else the spec's default whitening
  else if (o.searchHead !== 'off') {
    const whiten = Number(o.searchHead);
    if (!o.searchHead.trim() || !Number.isFinite(whiten))
      throw new AppError('invalid_input', `--search-head takes a number from 0 to 1 or 'off'; got '${o.searchHead}'`);
    fields.embedding = { ...presetHead, whiten };
  }
  if (o.twoViews !== undefined || o.views) {
    const preset = o.preset ? (PRESETS[o.preset as PresetName] as { contrastive?: object }).contrastive : undefined;
    fields.contrastive = {
      ...preset,
      ...(o.twoViews !== undefined ? { weight: numeric.parse(o.twoViews) } : {}),
      ...(o.views ? { views: o.views } : {}),
    };
  }
  if (o.arch === 'stacked' && !o.classes && o.data === FASHION_MNIST) fields.classes = 10;
  if (o.seed) fields.seed = numeric.parse(o.seed);
  return o.preset ? presetSpec(o.preset, fields) : parseModelSpec({ arch: o.arch, ...fields });
}

await runCli(async () => {
  program.parse();
  const o = program.opts<Record<string, string | undefined>>();
  const config = parseConfig();
  const preset = o.preset as PresetName | undefined;
  const inputShape: [number, number, number] =
    o.data === FASHION_MNIST
      ? [28, 28, 1]
      : inputShapeOf(preset ? PRESETS[preset].inputShape : undefined, {
          size: o.size === undefined ? undefined : numeric.parse(o.size),
          channels: o.channels === undefined ? undefined : numeric.parse(o.channels),
        });
  const spec = specFromFlags(o, inputShape);
  const recipe = preset ? PRESET_TRAINING[preset] : { epochs: 10, batchSize: 128 };
  const options = parseOrThrow(
    trainOptionsSchema,
    {
      epochs: o.epochs === undefined ? recipe.epochs : numeric.parse(o.epochs),
      batchSize: o.batchSize === undefined ? recipe.batchSize : numeric.parse(o.batchSize),
      learningRate: numeric.parse(o.lr),
      validationSplit: numeric.parse(o.valSplit),
      seed: numeric.parse(o.seed),
      ...(o.patience ? { earlyStopping: { patience: numeric.parse(o.patience) } } : {}),
      clustering: {
        ...(o.clusterEpochs ? { epochs: numeric.parse(o.clusterEpochs) } : {}),
        ...(o.clusterInit ? { init: o.clusterInit } : {}),
        ...(o.clusterTarget ? { target: o.clusterTarget } : {}),
        ...(o.clusterBalanced ? { balanced: true } : {}),
        ...(o.clusterConfident ? { confident: numeric.parse(o.clusterConfident) } : {}),
      },
    },
    'training option',
  );
  const engine = await initEngine(config.backend);
  process.stderr.write(`backend: ${engine.backend} (${engine.why}), ${config.workers} worker thread(s)\n`);
  const outDir = o.out ?? defaultModelDir(config.modelsDir, spec);
  const controller = abortOnSigint('training');
  const bar = new SingleBar(
    {
      format: '{phase} epoch {epoch}/{epochs} |{bar}| {percentage}% | loss {loss} | val {val} | {rate} img/s | ETA {eta_formatted}',
      etaBuffer: 50,
    },
    Presets.shades_classic,
  );
  let started = false;
  const outcome = await trainModel(
    {
      data: o.data!,
      spec,
      options,
      outDir,
      workers: config.workers,
      backend: engine.backend,
      ...(o.limit ? { limit: numeric.parse(o.limit) } : {}),
      ...(o.init ? { initFrom: o.init } : {}),
    },
    {
      signal: controller.signal,
      onFile: (done, total) => {
        if (done === total || done % 100 === 0) process.stderr.write(`\rdecoding images ${done}/${total}`);
      },
      onProgress: (p) => {
        if (!process.stderr.isTTY) {
          if (p.epochDone) {
            process.stderr.write(
              `${p.phase}${p.layer !== undefined ? ` layer ${p.layer + 1}` : ''} epoch ${p.epoch}/${p.epochs} loss ${p.loss.toFixed(5)}${p.valLoss === null ? '' : ` val ${p.valLoss.toFixed(5)}`} ${Math.round(p.imagesPerSec)} img/s\n`,
            );
          }
          return;
        }
        const payload = {
          phase: p.phase === 'pretrain' ? `pretrain layer ${p.layer! + 1}` : p.phase,
          epoch: p.epoch,
          epochs: p.epochs,
          loss: p.loss.toFixed(5),
          val: p.valLoss === null ? '-' : p.valLoss.toFixed(5),
          rate: Math.round(p.imagesPerSec),
        };
        if (!started) {
          bar.start(p.batches * p.epochs, 0, payload);
          started = true;
        }
        bar.setTotal(p.batches * p.epochs);
        bar.update((p.epoch - 1) * p.batches + p.batch, payload);
      },
    },
  ).finally(() => bar.stop());
  let registered: { id: number; active: boolean } | null = null;
  if (o.register !== (false as unknown as string)) {
    const library = openLibrary(config);
    try {
      const record = await registerModelDir(library, outcome.modelDir);
      registered = { id: record.id, active: record.active };
    } finally {
      library.close();
    }
  }
  const last = outcome.result.history.at(-1);
  for (const s of outcome.skipped.slice(0, 10)) process.stderr.write(`skipped ${s.file}: ${s.reason}\n`);
  if (outcome.skipped.length > 10) process.stderr.write(`… and ${outcome.skipped.length - 10} more files skipped\n`);
  console.log(
    JSON.stringify({
      model: outcome.modelDir,
      registered,
      arch: spec.arch,
      images: outcome.images,
      skipped: outcome.skipped.length,
      epochs: outcome.result.history.filter((h) => h.phase === 'train' || h.phase === 'finetune').length,
      loss: last?.loss,
      valLoss: last?.valLoss,
      testMse: outcome.testMse,
      stoppedEarly: outcome.result.stoppedEarly,
      imagesPerSec: Math.round(outcome.result.imagesPerSec),
      ...(outcome.result.valAccuracy !== undefined ? { valAccuracy: outcome.result.valAccuracy } : {}),
      ...(outcome.result.clustering ? { clustering: outcome.result.clustering } : {}),
    }),
  );
});
