/** A fresh library in a temp folder with a small registered model, and real images to ingest. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { parseConfig } from '../../lib/config';
import { loadFashionMnist } from '../../lib/data/fashion-mnist';
import { Autoencoder } from '../../lib/models/autoencoder';
import { saveModel } from '../../lib/models/model-io';
import { parseModelSpec } from '../../lib/models/spec';
import { ingestFolder } from '../../lib/services/ingest-service';
import { openLibrary, type Library } from '../../lib/services/library';
import { registerModelDir } from '../../lib/services/model-service';

export async function tempLibrary(latentSize = 16): Promise<{ library: Library; dataDir: string }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'latent-atlas-lib-'));
  const config = parseConfig({ LATENT_ATLAS_DATA_DIR: dataDir, LATENT_ATLAS_WORKERS: '1' });
  const library = openLibrary(config);
  await addModel(library, `conv-${latentSize}`, latentSize);
  return { library, dataDir };
}

export async function addModel(library: Library, name: string, latentSize: number, activate = false) {
  const model = Autoencoder.create(
    parseModelSpec({ arch: 'conv', inputShape: [28, 28, 1], latentSize, filters: [8, 16], downsample: 'stride', upsampling: 'transposed' }),
  );
  const dir = join(library.config.modelsDir, name);
  await saveModel(model, dir);
  model.dispose();
  return registerModelDir(library, dir, { activate });
}

/** Fashion-MNIST images (of the test split unless `split` says) as PNG files, one folder per class. Returns the folder. */
export async function fashionFolder(
  count: number,
  root = mkdtempSync(join(tmpdir(), 'latent-atlas-png-')),
  split: 'train' | 'test' = 'test',
): Promise<string> {
  const set = await loadFashionMnist(split, { limit: count });
  for (let i = 0; i < count; i++) {
    const dir = join(root, `class-${set.labels![i]}`);
    mkdirSync(dir, { recursive: true });
    const png = await sharp(set.pixels.subarray(i * 784, (i + 1) * 784), { raw: { width: 28, height: 28, channels: 1 } })
      .png()
      .toBuffer();
    writeFileSync(join(dir, `img-${i}.png`), png);
  }
  return root;
}

/** A temp library (model of `latentSize`) holding `count` Fashion-MNIST images labelled by class; `remove` deletes it all. */
export async function ingestedLibrary(
  count: number,
  latentSize = 16,
): Promise<{ library: Library; dataDir: string; folder: string; remove: () => void }> {
  const { library, dataDir } = await tempLibrary(latentSize);
  const folder = await fashionFolder(count);
  await ingestFolder(library, folder, { labelFromFolder: true });
  return {
    library,
    dataDir,
    folder,
    remove: () => {
      library.close();
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(folder, { recursive: true, force: true });
    },
  };
}
