/**
 * A folder of images and a folder of masks with matching names (NAME.jpg ↔ NAME.png) as a
 * segmentation set, validated pair by pair: a missing mask, a mask of another size than its
 * image or a mask value that is not a known class stops loading with an error naming the file.
 * Images go through the project's decoder (sniffed, limits checked), stretched to the model
 * input so the whole picture is kept; masks are read exactly and resized by nearest pixel.
 * An optional split.csv (`file`, `split` columns, file = NAME) picks the train or test pairs.
 */
import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { AppError, isAppError } from '../errors';
import { prepareImage } from '../images/image-decoder';
import { decodeMaskPng } from '../images/mask-png';
import { resizeLabels } from './augment';

/** Image/mask pairs at the model's input size, masks as class indices (position in `maskValues`). */
export interface SegmentationSet {
  /** NAME of each pair (file name without extension). */
  names: string[];
  count: number;
  height: number;
  width: number;
  channels: 1 | 3;
  /** Images, NHWC uint8. */
  pixels: Uint8Array;
  /** Class indices at the input size, NHW. */
  labels: Uint8Array;
  /** Mask value of each class, background (0) first. */
  maskValues: number[];
  /** Class maps at each mask's own size (for evaluation there), when asked for. */
  originals: { width: number; height: number; labels: Uint8Array }[] | null;
}

export interface SegmentationFolderOptions {
  images: string;
  masks: string;
  height: number;
  width: number;
  channels: 1 | 3;
  /** A split.csv and the split to load ('train', 'test'); default: every image of the folder. */
  split?: { file: string; name: string };
  /** Known mask values, background first; a mask with another value is refused. Default: discovered (at most `maxClasses`). */
  maskValues?: readonly number[];
  /** Most classes discovered when `maskValues` is not given. Default 16. */
  maxClasses?: number;
  /** Keep each mask's full-resolution class map. Default false. */
  keepOriginals?: boolean;
  limit?: number;
  onFile?: (done: number, total: number) => void;
}

/** NAME → image file name, from the images folder (hidden files skipped). */
async function listImages(dir: string): Promise<Map<string, string>> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    throw new AppError('not_found', `cannot read the images folder: ${(error as NodeJS.ErrnoException).code ?? 'error'}`, { cause: error });
  }
  const byName = new Map<string, string>();
  for (const e of entries.filter((e) => e.isFile() && !e.name.startsWith('.')).sort((a, b) => a.name.localeCompare(b.name))) {
    const name = e.name.slice(0, e.name.length - extname(e.name).length);
    const previous = byName.get(name);
    if (previous)
      throw new AppError('invalid_input', `images ${previous} and ${e.name} share the name '${name}'; each mask must match one image`);
    byName.set(name, e.name);
  }
  return byName;
}

/** NAMEs of one split from a split.csv with `file` and `split` columns. */
export async function readSplit(file: string, split: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new AppError('not_found', `cannot read the split file: ${(error as NodeJS.ErrnoException).code ?? 'error'}`, { cause: error });
  }
  const rows = parse(text, { columns: true, skip_empty_lines: true }) as Record<string, string>[];
  if (rows.length && (!('file' in rows[0]!) || !('split' in rows[0]!)))
    throw new AppError('invalid_input', `the split file needs 'file' and 'split' columns; it has ${Object.keys(rows[0]!).join(', ')}`);
  const names = rows.filter((r) => r.split === split).map((r) => r.file!);
  if (names.length === 0) {
    const splits = [...new Set(rows.map((r) => r.split))].join(', ');
    throw new AppError('invalid_input', `the split file has no rows for split '${split}' (splits: ${splits || 'none'})`);
  }
  return names;
}

function named(file: string, error: unknown): AppError {
  const message = isAppError(error) ? error.message : (error as Error).message;
  return new AppError(isAppError(error) && error.code === 'unsupported' ? 'unsupported' : 'invalid_input', `${file}: ${message}`, {
    cause: error,
  });
}

/** Loads and validates every pair; throws AppError naming the first bad file. */
export async function loadSegmentationFolder(options: SegmentationFolderOptions): Promise<SegmentationSet> {
  const { height, width, channels } = options;
  const images = await listImages(options.images);
  let names = options.split ? await readSplit(options.split.file, options.split.name) : [...images.keys()];
  if (options.limit) names = names.slice(0, options.limit);
  if (names.length === 0) throw new AppError('invalid_input', 'the images folder is empty');
  const size = height * width;
  const pixels = new Uint8Array(names.length * size * channels);
  const raw = new Uint8Array(names.length * size);
  const originals: { width: number; height: number; values: Uint8Array }[] = [];
  const known = options.maskValues ? new Set(options.maskValues) : null;
  const seen = new Set<number>();
  const maxClasses = options.maxClasses ?? 16;

  for (const [i, name] of names.entries()) {
    const imageFile = images.get(name);
    if (!imageFile)
      throw new AppError('invalid_input', `${name}: listed in the split file but no image of that name is in the images folder`);
    const maskFile = `${name}.png`;
    let maskBytes: Uint8Array;
    try {
      maskBytes = await readFile(join(options.masks, maskFile));
    } catch (error) {
      throw new AppError('invalid_input', `${imageFile}: no mask ${maskFile} in the masks folder`, { cause: error });
    }
    let image;
    try {
      image = await prepareImage(await readFile(join(options.images, imageFile)), { target: { height, width, channels, fit: 'fill' } });
    } catch (error) {
      throw named(imageFile, error);
    }
    let mask;
    try {
      mask = await decodeMaskPng(maskBytes);
    } catch (error) {
      throw named(`mask ${maskFile}`, error);
    }
    if (mask.width !== image.originalWidth || mask.height !== image.originalHeight) {
      throw new AppError(
        'invalid_input',
        `mask ${maskFile} is ${mask.width}×${mask.height} but image ${imageFile} is ${image.originalWidth}×${image.originalHeight}`,
      );
    }
    for (const v of new Set(mask.values)) {
      if (known && !known.has(v)) {
        throw new AppError('invalid_input', `mask ${maskFile} has the value ${v}; expected only ${[...known].join(', ')}`);
      }
      seen.add(v);
      if (seen.size > maxClasses)
        throw new AppError(
          'invalid_input',
          `mask ${maskFile} brings the number of distinct mask values to ${seen.size}, more than ${maxClasses} classes (are the masks anti-aliased or JPEG-derived?)`,
        );
    }
    pixels.set(image.pixels, i * size * channels);
    raw.set(resizeLabels(mask.values, mask.width, mask.height, width, height), i * size);
    if (options.keepOriginals) originals.push(mask);
    options.onFile?.(i + 1, names.length);
  }

  const maskValues = options.maskValues ? [...options.maskValues] : [...new Set([0, ...seen])].sort((a, b) => a - b);
  if (maskValues.length < 2) throw new AppError('invalid_input', 'every mask is all background (0): there is nothing to segment');
  const classOf = new Uint8Array(256);
  maskValues.forEach((v, c) => (classOf[v] = c));
  const toClasses = (values: Uint8Array) => values.map((v) => classOf[v]!);
  return {
    names,
    count: names.length,
    height,
    width,
    channels,
    pixels,
    labels: toClasses(raw),
    maskValues,
    originals: options.keepOriginals ? originals.map((m) => ({ width: m.width, height: m.height, labels: toClasses(m.values) })) : null,
  };
}
