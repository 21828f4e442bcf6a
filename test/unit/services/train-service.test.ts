/**
 * Starting from a saved model (`initFrom`): a plain autoencoder can be continued with a two-view
 * objective (its projection head starts fresh, every other weight comes along), and a different
 * architecture is still refused.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAppError } from '../../../lib/errors';
import { PROJECTION } from '../../../lib/models/autoencoder';
import { loadModel } from '../../../lib/models/model-io';
import { trainOptionsSchema } from '../../../lib/models/train';
import { trainModel } from '../../../lib/services/train-service';
import { startWasm } from '../../helpers/engine';
import { tinyConvSpec } from '../../helpers/models';

let dir: string;
beforeAll(async () => {
  await startWasm();
  dir = await mkdtemp(join(tmpdir(), 'latent-atlas-train-service-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

const request = { data: 'fashion-mnist', limit: 128, workers: 1, backend: 'wasm' as const };

describe('trainModel with initFrom', () => {
  it('continues a plain model with two views: the autoencoder weights come along, the projection head starts fresh', async () => {
    const plain = join(dir, 'plain');
    await trainModel({
      ...request,
      spec: tinyConvSpec(),
      options: trainOptionsSchema.parse({ epochs: 1, validationSplit: 0 }),
      outDir: plain,
    });
    const twoViews = join(dir, 'two-views');
    await trainModel({
      ...request,
      spec: tinyConvSpec({ contrastive: { views: 'garment' }, embedding: {} }),
      options: trainOptionsSchema.parse({ epochs: 0, validationSplit: 0 }),
      outDir: twoViews,
      initFrom: plain,
    });
    const { model: before } = await loadModel(plain);
    const { model: after } = await loadModel(twoViews);
    const weights = after.readWeights();
    for (const [name, values] of before.readWeights()) expect(weights.get(name), name).toEqual(values);
    expect([...weights.keys()].some((name) => name.startsWith(PROJECTION))).toBe(true);
    expect(after.spec.contrastive?.views).toBe('garment');
    before.dispose();
    after.dispose();

    const error = await trainModel({
      ...request,
      spec: tinyConvSpec({ filters: [8, 32], embedding: {} }),
      options: trainOptionsSchema.parse({ epochs: 0, validationSplit: 0 }),
      outDir: join(dir, 'other'),
      initFrom: plain,
    }).catch((e: unknown) => e);
    expect(isAppError(error, 'invalid_input')).toBe(true);
    expect((error as Error).message).toMatch(/different architecture/);
  });
});
