/**
 * Segmentation models on disk: the autoencoders' directory layout, atomic write and manifest
 * checks (`lib/models/model-io.ts`) with their own format name, so an autoencoder loader never
 * mistakes one for the other. The manifest keeps the training record and the test-split
 * evaluation for the Models page.
 */
import { z } from 'zod';
import { loadWeightsInto, readManifestFile, saveModelDirectory, weightLayoutSchema } from '../models/model-io';
import { parseSegmentationSpec, type SegmentationSpec } from './segmentation-spec';
import { Segmenter } from './segmenter';

export const SEGMENTATION_FORMAT = 'latent-atlas-segmentation';
export const SEGMENTATION_FORMAT_VERSION = 1;

const manifestSchema = z.object({
  format: z.literal(SEGMENTATION_FORMAT),
  formatVersion: z.number().int(),
  spec: z.unknown(),
  weights: weightLayoutSchema,
  /** What `trainSegmentation` recorded: data, options, history, seconds, test scores. */
  training: z.unknown().optional(),
  createdAt: z.string(),
});
export type SegmentationManifest = Omit<z.infer<typeof manifestSchema>, 'spec'> & { spec: SegmentationSpec };

/** Saves `model` to `dir` atomically, with `training` as metadata. */
export async function saveSegmenter(model: Segmenter, dir: string, training?: unknown): Promise<SegmentationManifest> {
  return saveModelDirectory(dir, model, {
    format: SEGMENTATION_FORMAT,
    formatVersion: SEGMENTATION_FORMAT_VERSION,
    spec: model.spec,
    ...(training !== undefined ? { training } : {}),
    createdAt: new Date().toISOString(),
  });
}

/** A segmentation model's manifest (spec validated); AppError('not_found') when `dir` holds none. */
export async function readSegmentationManifest(dir: string): Promise<SegmentationManifest> {
  const manifest = await readManifestFile(dir, manifestSchema, 'segmentation model', SEGMENTATION_FORMAT_VERSION);
  return { ...manifest, spec: parseSegmentationSpec(manifest.spec) };
}

/** Loads a saved segmentation model; its outputs equal the saved model's. */
export async function loadSegmenter(dir: string): Promise<{ model: Segmenter; manifest: SegmentationManifest }> {
  const manifest = await readSegmentationManifest(dir);
  const model = await loadWeightsInto(dir, manifest.weights, (weights) => Segmenter.fromWeights(manifest.spec, weights));
  return { model, manifest };
}
