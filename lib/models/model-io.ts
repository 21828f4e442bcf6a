/**
 * Models on disk, without tfjs-node: a directory with `model.json` (format version, validated
 * spec, preprocessing, weight manifest, training record) and `weights.bin` (float32, little
 * endian, in manifest order). Written to a temporary directory, fsynced, then renamed into
 * place, so a crash never leaves a half-written model. The layout, the atomic write and the
 * manifest checks are shared by every model family (the segmenter's `segmentation-io.ts` adds only
 * its format name and spec).
 */
import { access, mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { z } from 'zod';
import { asStorageError, syncDirectory, writeSyncedFile } from '../durable-file';
import { AppError } from '../errors';
import { Autoencoder } from './autoencoder';
import { parseModelSpec } from './spec';
import type { TrainableModel } from './trainable-model';

export const MODEL_FORMAT_VERSION = 1;

/** Where each weight lies in `weights.bin` (float32 offsets), in parameter order. */
export const weightLayoutSchema = z.array(
  z.object({ name: z.string(), shape: z.array(z.number().int().nonnegative()), offset: z.number().int().nonnegative() }),
);
export type WeightLayout = z.infer<typeof weightLayoutSchema>;

const manifestSchema = z.object({
  format: z.literal('latent-atlas-model'),
  formatVersion: z.number().int(),
  spec: z.unknown(),
  preprocessing: z.object({ height: z.number(), width: z.number(), channels: z.number(), range: z.tuple([z.number(), z.number()]) }),
  weights: weightLayoutSchema,
  training: z.unknown().optional(),
  createdAt: z.string(),
});
export type ModelManifest = z.infer<typeof manifestSchema>;

/** Saves `model` to `dir` atomically; `training` (history, options, metrics) is kept as metadata. */
export async function saveModel(model: Autoencoder, dir: string, training?: unknown): Promise<ModelManifest> {
  const [height, width, channels] = model.spec.inputShape;
  return saveModelDirectory(dir, model, {
    format: 'latent-atlas-model' as const,
    formatVersion: MODEL_FORMAT_VERSION,
    spec: model.spec,
    preprocessing: { height, width, channels, range: [0, 1] as [number, number] },
    ...(training !== undefined ? { training } : {}),
    createdAt: new Date().toISOString(),
  });
}

/**
 * Saves any trainable model: its weights as one float32 blob in parameter order, and `header`
 * with their layout as the manifest, written atomically by `writeModelDirectory`.
 */
export async function saveModelDirectory<Header extends object>(
  dir: string,
  model: TrainableModel<unknown>,
  header: Header,
): Promise<Header & { weights: WeightLayout }> {
  const weights: WeightLayout = [];
  let offset = 0;
  for (const [name, v] of model.params) {
    weights.push({ name, shape: v.shape, offset });
    offset += v.size;
  }
  const blob = new Float32Array(offset);
  [...model.readWeights().values()].forEach((values, i) => blob.set(values, weights[i]!.offset));
  const manifest = { ...header, weights };
  await writeModelDirectory(dir, manifest, new Uint8Array(blob.buffer, blob.byteOffset, blob.byteLength));
  return manifest;
}

/**
 * Writes `model.json` and `weights.bin` into `dir` atomically (temporary directory, files and
 * folder fsynced, rename, parent folder fsynced: lib/durable-file); shared by every model family.
 */
export async function writeModelDirectory(dir: string, manifest: unknown, bytes: Uint8Array): Promise<void> {
  const tmp = join(dirname(dir), `.${basename(dir)}.tmp-${process.pid}-${Date.now()}`);
  try {
    await mkdir(tmp, { recursive: true });
    await writeSyncedFile(join(tmp, 'weights.bin'), bytes);
    await writeSyncedFile(join(tmp, 'model.json'), JSON.stringify(manifest, null, 2));
    await syncDirectory(tmp);
    const old = `${tmp}-old`;
    await rename(dir, old).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
    await rename(tmp, dir);
    await syncDirectory(dirname(dir));
    await rm(old, { recursive: true, force: true });
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    throw asStorageError(error); // a full disk: the old model (or none) stays, whole
  }
}

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

/**
 * Finishes or undoes the model-directory writes (writeModelDirectory) of processes killed midway,
 * in `parent`: where a kill fell between moving the old directory aside and moving the new one in,
 * the complete new one (its model.json is written last) or else the old one takes the name again.
 * Then the leftovers go. `running(pid, path)` says whether the writer of `path` still runs.
 * Returns what was done.
 */
export async function recoverModelWrites(
  parent: string,
  running: (pid: number, path: string) => boolean,
): Promise<{ restored: string[]; removed: number }> {
  const names = await readdir(parent).catch(() => [] as string[]);
  const out = { restored: [] as string[], removed: 0 };
  const orphans = names
    .map((name) => ({ name, match: /^\.(.+)\.tmp-(\d+)-\d+(-old)?$/.exec(name) }))
    .filter((o): o is { name: string; match: RegExpExecArray } => o.match !== null && !running(Number(o.match[2]), join(parent, o.name)));
  // New copies before old ones: the newest complete write wins.
  for (const { name, match } of orphans.sort((a, b) => Number(a.match[3] !== undefined) - Number(b.match[3] !== undefined))) {
    const target = join(parent, match[1]!);
    if (!(await exists(target)) && (await exists(join(parent, name, 'model.json')))) {
      await rename(join(parent, name), target);
      out.restored.push(match[1]!);
    } else {
      await rm(join(parent, name), { recursive: true, force: true });
      out.removed++;
    }
  }
  return out;
}

/**
 * A model directory's `model.json`, checked against `schema`: AppError 'not_found' when there is
 * none, 'invalid_input' when it is not JSON or not this `kind` of model, 'unsupported' when its
 * format is newer than `supportedVersion`.
 */
export async function readManifestFile<T extends { formatVersion: number }>(
  dir: string,
  schema: z.ZodType<T>,
  kind: string,
  supportedVersion: number,
): Promise<T> {
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
  const parsed = schema.safeParse(json);
  if (!parsed.success)
    throw new AppError('invalid_input', `model.json of ${basename(dir)} is not a Latent Atlas ${kind}: ${parsed.error.issues[0]?.message}`);
  if (parsed.data.formatVersion > supportedVersion)
    throw new AppError(
      'unsupported',
      `${kind} format ${parsed.data.formatVersion} is newer than this version of Latent Atlas understands (${supportedVersion})`,
    );
  return parsed.data;
}

/** Reads a saved model's weights and builds it; weights that do not fit its spec are AppError 'invalid_input'. */
export async function loadWeightsInto<M>(dir: string, layout: WeightLayout, build: (weights: Map<string, Float32Array>) => M): Promise<M> {
  const weights = await readWeightsFile(dir, layout);
  try {
    return build(weights);
  } catch (error) {
    throw new AppError('invalid_input', `model weights do not match its spec: ${(error as Error).message}`, { cause: error });
  }
}

/** Reads only a model's manifest (spec, training record). */
export async function readModelManifest(dir: string): Promise<ModelManifest> {
  return readManifestFile(dir, manifestSchema, 'model', MODEL_FORMAT_VERSION);
}

/** Loads a saved model; its outputs equal the saved model's. */
export async function loadModel(dir: string): Promise<{ model: Autoencoder; manifest: ModelManifest }> {
  const manifest = await readModelManifest(dir);
  const spec = parseModelSpec(manifest.spec);
  const model = await loadWeightsInto(dir, manifest.weights, (weights) => Autoencoder.fromWeights(spec, weights));
  return { model, manifest };
}

/** The float32 weights of `weights.bin` by name, as its manifest lays them out; a truncated file is refused. */
export async function readWeightsFile(
  dir: string,
  layout: readonly { name: string; shape: number[]; offset: number }[],
): Promise<Map<string, Float32Array>> {
  let bytes: Buffer;
  try {
    bytes = await readFile(join(dir, 'weights.bin'));
  } catch (error) {
    throw new AppError('not_found', `no weights found at ${basename(dir)} (weights.bin missing)`, { cause: error });
  }
  const floats = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const weights = new Map<string, Float32Array>();
  for (const w of layout) {
    const size = w.shape.reduce((a, b) => a * b, 1);
    if (w.offset + size > floats.length)
      throw new AppError(
        'invalid_input',
        `weights.bin is truncated: ${w.name} needs values up to ${w.offset + size}, file has ${floats.length}`,
      );
    weights.set(w.name, floats.subarray(w.offset, w.offset + size));
  }
  return weights;
}
