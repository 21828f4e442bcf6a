/**
 * A remote worker's models: downloaded from the app once, checked against the fingerprint the
 * batch names, kept on disk under `<cache>/model-<id>-<fingerprint>` (so a restart downloads
 * nothing) and in memory one at a time (a batch for another model swaps it).
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { AppError } from '../../errors';
import type { Autoencoder } from '../../models/autoencoder';
import { loadModel, MODEL_FILES, modelFingerprint, writeModelFiles, type ModelFile } from '../../models/model-io';
import type { AppClient } from './app-client';
import { CurrentEntry } from './current-entry';

export interface ModelRef {
  id: number;
  fingerprint: string;
}

export class ModelCache {
  private readonly current = new CurrentEntry<Autoencoder>((model) => model.dispose());
  /** Downloads made by this cache (for logs and tests). */
  downloads = 0;

  constructor(
    private readonly dir: string,
    private readonly client: AppClient,
  ) {}

  /** The model `ref` names, from memory, the disk cache or the app. */
  get(ref: ModelRef): Promise<Autoencoder> {
    const key = `model-${ref.id}-${ref.fingerprint}`;
    return this.current.get(key, () => this.load(ref, key));
  }

  private async load(ref: ModelRef, key: string): Promise<Autoencoder> {
    const dir = join(this.dir, key);
    const cached = await access(join(dir, 'model.json')).then(
      () => true,
      () => false,
    );
    if (!cached) {
      const [json, weights] = await Promise.all(MODEL_FILES.map((file) => this.client.modelFile(ref.id, file)));
      const files: Record<ModelFile, Uint8Array> = { 'model.json': json!, 'weights.bin': weights! };
      const fingerprint = modelFingerprint(files);
      if (fingerprint !== ref.fingerprint)
        throw new AppError(
          'conflict',
          `model ${ref.id} on the app has fingerprint ${fingerprint}, the batch asks for ${ref.fingerprint} (the model changed since the batch was queued): refused`,
        );
      await writeModelFiles(dir, files);
      this.downloads++;
    }
    return (await loadModel(dir)).model;
  }
}
