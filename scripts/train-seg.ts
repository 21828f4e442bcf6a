/**
 * npm run train:seg -- [--images <dir> --masks <dir>] [--split <split.csv>] [--out <dir>] [--epochs 25] [--size 96] [--no-skip] …
 * Trains a segmentation model (default data: ../shared/data/segmentation) with a progress bar,
 * scores it on the test split and saves it under data/models/segmentation/ (or --out), where the
 * web app finds it. Ctrl-C cancels cleanly. Prints one JSON line.
 */
import { Command } from 'commander';
import { parseConfig } from '../lib/config';
import { initEngine } from '../lib/engine/backend';
import { defaultSegmentationDir, trainSegmentation } from '../lib/services/segmentation-service';
import { abortOnSigint, runCli } from './cli/run';
import { addSegmentationFlags, onFileProgress, segmentationProgress, segmentationRequestFromFlags } from './cli/segmentation-flags';

const program = addSegmentationFlags(
  new Command('train:seg').description('Train an encoder-decoder segmentation model on image/mask folders and save it.'),
).option('--out <dir>', 'model directory (default data/models/segmentation/seg-<time>)');

await runCli(async () => {
  program.parse();
  const flags = program.opts<Record<string, string | boolean | undefined>>();
  const request = segmentationRequestFromFlags(flags);
  const config = parseConfig();
  const engine = await initEngine(config.backend);
  process.stderr.write(`backend: ${engine.backend} (${engine.why})\n`);
  const outDir = typeof flags.out === 'string' ? flags.out : defaultSegmentationDir(config.modelsDir);
  const controller = abortOnSigint('training');
  const progress = segmentationProgress();
  const outcome = await trainSegmentation(
    { ...request, outDir },
    { ...progress.hooks, signal: controller.signal, onFile: onFileProgress },
  ).finally(progress.stop);
  const { record } = outcome;
  console.log(
    JSON.stringify({
      model: outcome.modelDir,
      skip: outcome.spec.skip,
      trainPairs: record.trainPairs,
      testPairs: record.testPairs,
      epochs: record.history.length,
      loss: record.history.at(-1)?.loss,
      seconds: record.seconds,
      imagesPerSec: record.imagesPerSec,
      test: record.test && { miou: record.test.miou, mmse: record.test.mmse, pixel_acc: record.test.pixel_acc, iou: record.test.iou },
    }),
  );
});
