/**
 * Segmentation models on disk: the same directory layout as the autoencoders (`model.json` +
 * `weights.bin`, written atomically by `writeModelDirectory`) with their own format name, so an
 * autoencoder loader never mistakes one for the other. The manifest keeps the training record
 * and the test-split evaluation for the Models page.
 */
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { z } from 'zod';
import { AppError } from '../errors';
import { readWeightsFile, writeModelDirectory } from '../models/model-io';
import { parseSegmentationSpec, type SegmentationSpec } from './segmentation-spec';
import { Segmenter } from './segmenter';

export const SEGMENTATION_FORMAT = 'latent-atlas-segmentation';
export const SEGMENTATION_FORMAT_VERSION = 1;

const manifestSchema = z.object({
  format: z.literal(SEGMENTATION_FORMAT),
  formatVersion: z.number().int(),
  spec: z.unknown(),
  weights: z.array(z.object({ name: z.string(), shape: z.array(z.number().int().nonnegative()), offset: z.number().int().nonnegative() })),
  /** What `trainSegmentation` recorded: data, options, history, seconds, test scores. */
  training: z.unknown().optional(),
  createdAt: z.string(),
});
export type SegmentationManifest = Omit<z.infer<typeof manifestSchema>, 'spec'> & { spec: SegmentationSpec };

/** Saves `model` to `dir` atomically, with `training` as metadata. */
export async function saveSegmenter(model: Segmenter, dir: string, training?: unknown): Promise<SegmentationManifest> {
  const weights = model.readWeights();
  const manifest: SegmentationManifest = {
    format: SEGMENTATION_FORMAT,
    formatVersion: SEGMENTATION_FORMAT_VERSION,
    spec: model.spec,
    weights: [],
    ...(training !== undefined ? { training } : {}),
    createdAt: new Date().toISOString(),
  };
  let offset = 0;
  for (const [name, values] of weights) {
    manifest.weights.push({ name, shape: model.p(name).shape, offset });
    offset += values.length;
  }
  const blob = new Float32Array(offset);
  for (const [i, values] of [...weights.values()].entries()) blob.set(values, manifest.weights[i]!.offset);
  await writeModelDirectory(dir, manifest, new Uint8Array(blob.buffer, blob.byteOffset, blob.byteLength));
  return manifest;
}

/** A segmentation model's manifest (spec validated); AppError('not_found') when `dir` holds none. */
export async function readSegmentationManifest(dir: string): Promise<SegmentationManifest> {
  let text: string;
  try {
    text = await readFile(join(dir, 'model.json'), 'utf8');
  } catch (error) {
    throw new AppError('not_found', `no model found at ${basename(dir)} (model.json missing)`, { cause: error });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new AppError('invalid_input', `model.json of ${basename(dir)} is not JSON`, { cause: error });
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) throw new AppError('invalid_input', `${basename(dir)} is not a Latent Atlas segmentation model`);
  if (parsed.data.formatVersion > SEGMENTATION_FORMAT_VERSION)
    throw new AppError(
      'unsupported',
      `segmentation model format ${parsed.data.formatVersion} is newer than this version understands (${SEGMENTATION_FORMAT_VERSION})`,
    );
  return { ...parsed.data, spec: parseSegmentationSpec(parsed.data.spec) };
}

/** Loads a saved segmentation model; its outputs equal the saved model's. */
export async function loadSegmenter(dir: string): Promise<{ model: Segmenter; manifest: SegmentationManifest }> {
  const manifest = await readSegmentationManifest(dir);
  const weights = await readWeightsFile(dir, manifest.weights);
  try {
    return { model: Segmenter.fromWeights(manifest.spec, weights), manifest };
  } catch (error) {
    throw new AppError('invalid_input', `model weights do not match its spec: ${(error as Error).message}`, { cause: error });
  }
}
