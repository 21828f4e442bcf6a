/**
 * npm run eval:seg -- [--model <dir>] [--noskip-model <dir>] [training flags of train:seg]
 * Scores, on the test split and in one run, the skip-connection model, the same model without
 * skip connections, and the majority-class baseline (mean IoU, mean MSE of the probability map,
 * pixel accuracy at the masks' own resolution). Models not given are trained first with the
 * flags. Prints ONE JSON line with `model`, `no_skip` and `baseline` (also saved to
 * data/eval/segmentation.json for the Models page).
 */
import { Command } from 'commander';
import { parseConfig } from '../lib/config';
import { initEngine } from '../lib/engine/backend';
import { compareSegmentation, comparisonPath, saveSegmentationComparison } from '../lib/services/segmentation-service';
import { abortOnSigint, runCli } from './cli/run';
import { addSegmentationFlags, onFileProgress, segmentationProgress, segmentationRequestFromFlags } from './cli/segmentation-flags';

const program = addSegmentationFlags(
  new Command('eval:seg').description('Compare skip, no-skip and the majority baseline on the test split.'),
)
  .option('--model <dir>', 'a trained skip-connection model (default: train one now)')
  .option('--noskip-model <dir>', 'a trained model without skip connections (default: train one now, like --model)');

const round = (x: number) => Number(x.toFixed(4));

await runCli(async () => {
  program.parse();
  const flags = program.opts<Record<string, string | boolean | undefined>>();
  const request = segmentationRequestFromFlags(flags);
  const config = parseConfig();
  const engine = await initEngine(config.backend);
  process.stderr.write(`backend: ${engine.backend} (${engine.why})\n`);
  const controller = abortOnSigint('evaluation');
  const progress = segmentationProgress();
  const started = performance.now();
  const result = await compareSegmentation(
    {
      ...request,
      modelsDir: config.modelsDir,
      ...(typeof flags.model === 'string' ? { modelDir: flags.model } : {}),
      ...(typeof flags.noskipModel === 'string' ? { noSkipDir: flags.noskipModel } : {}),
    },
    {
      ...progress.hooks,
      signal: controller.signal,
      onFile: onFileProgress,
      onStep: (step) => {
        progress.stop();
        process.stderr.write(`${step}\n`);
      },
    },
  ).finally(progress.stop);
  await saveSegmentationComparison(config.dataDir, result);
  process.stderr.write(`comparison saved to ${comparisonPath(config.dataDir)}\n`);
  const pick = (s: { miou: number; mmse: number; pixel_acc: number; iou: (number | null)[] }) => ({
    miou: round(s.miou),
    mmse: round(s.mmse),
    pixel_acc: round(s.pixel_acc),
    iou: s.iou.map((v) => (v === null ? null : round(v))),
  });
  console.log(
    JSON.stringify({
      model: { ...pick(result.model), dir: result.model.dir, seconds: result.model.seconds },
      no_skip: { ...pick(result.no_skip), dir: result.no_skip.dir, seconds: result.no_skip.seconds },
      baseline: { ...pick(result.baseline), majority_class: result.baseline.majority_class },
      test_pairs: result.test_pairs,
      seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
    }),
  );
});
