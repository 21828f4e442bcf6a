/**
 * npm run export:fashion-mnist -- <folder> [--limit N]
 * Writes Fashion-MNIST (Debian's dataset-fashion-mnist) as PNG files, one folder per class
 * (train/ and test/), so it can be ingested like any collection of images.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import sharp from 'sharp';
import { FASHION_MNIST_CLASSES, loadFashionMnist } from '../lib/data/fashion-mnist';
import { runCli } from './cli/run';

const program = new Command('export:fashion-mnist').argument('<folder>').option('--limit <n>', 'images per split');

await runCli(async () => {
  program.parse();
  const [folder] = program.args as [string];
  const limit = program.opts<{ limit?: string }>().limit;
  for (const split of ['train', 'test'] as const) {
    const set = await loadFashionMnist(split, limit ? { limit: Number(limit) } : {});
    const bar = new SingleBar({ format: `${split} |{bar}| {value}/{total}` }, Presets.shades_classic);
    bar.start(set.count, 0);
    for (let i = 0; i < set.count; i++) {
      const label = FASHION_MNIST_CLASSES[set.labels![i]!]!.replace(/\W+/g, '-').toLowerCase();
      const dir = join(folder, split, label);
      await mkdir(dir, { recursive: true });
      const png = await sharp(set.pixels.subarray(i * 784, (i + 1) * 784), { raw: { width: 28, height: 28, channels: 1 } })
        .png()
        .toBuffer();
      await writeFile(join(dir, `${split}-${String(i).padStart(5, '0')}.png`), png);
      if (i % 500 === 0) bar.update(i);
    }
    bar.update(set.count);
    bar.stop();
  }
});
