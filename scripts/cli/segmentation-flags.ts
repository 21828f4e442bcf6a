/**
 * Flags shared by `train:seg` and `eval:seg`: the data folders (default: the COCO person set in
 * ../shared/data/segmentation), the model spec and the training options, validated once here.
 */
import { SingleBar, Presets } from 'cli-progress';
import { Command, Option } from 'commander';
import { z } from 'zod';
import { AppError } from '../../lib/errors';
import { parseOrThrow } from '../../lib/validation';
import { SEGMENTATION_LOSSES, parseSegmentationSpec } from '../../lib/segmentation/segmentation-spec';
import { segmentationTrainOptionsSchema, type SegmentationTrainOptions } from '../../lib/segmentation/segmentation-train';
import { UPSAMPLING_MODES } from '../../lib/models/spec';
import type { TrainHooks } from '../../lib/training/fit';
import type { SegmentationData, SegmentationTrainRequest } from '../../lib/services/segmentation-service';

/** 217 COCO photos with person masks, 173 train / 44 test (see its ATTRIBUTION.md). */
export const DEFAULT_SEGMENTATION_DATA = new URL('../../../shared/data/segmentation/', import.meta.url).pathname;

export function addSegmentationFlags(program: Command): Command {
  return program
    .option('--images <dir>', 'folder of images (default ../shared/data/segmentation/images)')
    .option('--masks <dir>', 'folder of greyscale PNG masks named like the images (default ../shared/data/segmentation/masks)')
    .option(
      '--split <file>',
      "split.csv with 'file' and 'split' columns (default ../shared/data/segmentation/split.csv with the default data)",
    )
    .option('--mask-values <list>', 'mask pixel values, background (0) first, e.g. 0,255 (default: discovered)')
    .option('--size <n>', 'input height and width', '96')
    .option('--filters <list>', 'encoder block widths, comma-separated', '8,16,32,64')
    .option('--convs <n>', '3×3 convolutions per encoder block', '2')
    .addOption(new Option('--upsampling <mode>', 'decoder upsampling').choices(UPSAMPLING_MODES).default('bilinear'))
    .option('--no-skip', 'no skip connections between encoder and decoder')
    .option('--shallow <n>', 'add the shallow full-resolution detail path with N filters')
    .addOption(new Option('--loss <loss>', 'training loss').choices(SEGMENTATION_LOSSES).default('bce+dice'))
    .option('--epochs <n>', 'epochs', '25')
    .option('--batch-size <n>', 'batch size', '8')
    .option('--lr <rate>', 'Adam learning rate (the start of the schedule)', '0.002')
    .option('--constant-lr', 'keep the learning rate constant instead of a cosine decay to 0')
    .option('--val-split <fraction>', 'validation fraction of the training pairs', '0')
    .option('--no-flip', 'no horizontal flips')
    .option('--min-crop <fraction>', 'smallest random crop side (1 = no crops)', '0.7')
    .option('--seed <n>', 'seed for weights, shuffle and augmentations', '42')
    .option('--limit <n>', 'use only the first N pairs of each split');
}

export type SegmentationFlags = Record<string, string | boolean | undefined>;

const int = z.coerce.number().int().positive();
const list = (value: string) => value.split(',').map((v) => Number(v.trim()));

function str(flags: SegmentationFlags, key: string): string | undefined {
  const v = flags[key];
  return typeof v === 'string' ? v : undefined;
}

/** Data, spec and options from the parsed flags; AppError('invalid_input') on bad values. */
export function segmentationRequestFromFlags(flags: SegmentationFlags): Omit<SegmentationTrainRequest, 'outDir'> {
  const images = str(flags, 'images');
  const masks = str(flags, 'masks');
  if ((images === undefined) !== (masks === undefined)) throw new AppError('invalid_input', '--images and --masks go together');
  const split = str(flags, 'split') ?? (images === undefined ? `${DEFAULT_SEGMENTATION_DATA}split.csv` : undefined);
  const data: SegmentationData = {
    images: images ?? `${DEFAULT_SEGMENTATION_DATA}images`,
    masks: masks ?? `${DEFAULT_SEGMENTATION_DATA}masks`,
    ...(split ? { split } : {}),
    ...(str(flags, 'maskValues') ? { maskValues: list(str(flags, 'maskValues')!) } : {}),
    ...(str(flags, 'limit') ? { limit: int.parse(str(flags, 'limit')) } : {}),
  };
  const size = int.parse(str(flags, 'size'));
  const shallow = str(flags, 'shallow');
  const spec = {
    inputShape: [size, size, 3] as [number, number, 3],
    filters: list(str(flags, 'filters')!),
    convsPerBlock: int.parse(str(flags, 'convs')),
    upsampling: str(flags, 'upsampling') as (typeof UPSAMPLING_MODES)[number],
    skip: flags.skip !== false,
    ...(shallow ? { shallow: { filters: int.parse(shallow) } } : {}),
    loss: str(flags, 'loss') as (typeof SEGMENTATION_LOSSES)[number],
    seed: z.coerce.number().int().min(0).parse(str(flags, 'seed')),
    ...(data.maskValues ? { maskValues: data.maskValues } : {}),
  };
  parseSegmentationSpec(spec); // fail on a bad spec before any image is decoded
  const options: SegmentationTrainOptions = parseOrThrow(
    segmentationTrainOptionsSchema,
    {
      epochs: Number(str(flags, 'epochs')),
      batchSize: Number(str(flags, 'batchSize')),
      learningRate: Number(str(flags, 'lr')),
      schedule: flags.constantLr === true ? 'constant' : 'cosine',
      validationSplit: Number(str(flags, 'valSplit')),
      augment: { flip: flags.flip !== false, minCrop: Number(str(flags, 'minCrop')) },
      seed: Number(str(flags, 'seed')),
    },
    'training option',
  );
  return { data, spec, options };
}

/** Progress on stderr: a cli-progress bar on a terminal, one line per epoch otherwise. */
export function segmentationProgress(label = 'train'): { hooks: Omit<TrainHooks, 'resume' | 'signal'>; stop: () => void } {
  const bar = new SingleBar(
    { format: `${label} epoch {epoch}/{epochs} |{bar}| {percentage}% | loss {loss} | {rate} img/s | ETA {eta_formatted}`, etaBuffer: 30 },
    Presets.shades_classic,
  );
  let started = false;
  return {
    hooks: {
      onProgress: (p) => {
        if (!process.stderr.isTTY) {
          if (p.epochDone)
            process.stderr.write(
              `${label} epoch ${p.epoch}/${p.epochs} loss ${p.loss.toFixed(4)}${p.valLoss === null ? '' : ` val ${p.valLoss.toFixed(4)}`} ${p.imagesPerSec.toFixed(1)} img/s\n`,
            );
          return;
        }
        const payload = { epoch: p.epoch, epochs: p.epochs, loss: p.loss.toFixed(4), rate: p.imagesPerSec.toFixed(1) };
        if (!started) {
          bar.start(p.batches * p.epochs, 0, payload);
          started = true;
        }
        bar.update((p.epoch - 1) * p.batches + p.batch, payload);
      },
    },
    stop: () => {
      if (started) bar.stop();
      started = false;
    },
  };
}

/** Decoding progress on stderr. */
export function onFileProgress(done: number, total: number, split: string): void {
  if (done === total || (process.stderr.isTTY && done % 25 === 0))
    process.stderr.write(`\rdecoding ${split} pairs ${done}/${total}${done === total ? '\n' : ''}`);
}
