/**
 * With `mask-png.ts`, the only module that imports sharp. Decodes bytes whose format was sniffed from the bytes
 * (DICOM through `dicom.ts`), applies EXIF orientation, refuses oversized, truncated or corrupt
 * files, and produces what the rest of Latent Atlas needs from one decode: the model's input
 * (`size`×`size` centre crop, 1 or 3 channels, uint8), a WebP thumbnail and the original size.
 * Training, ingest and search all prepare images here, so a model never sees data prepared two ways.
 */
import sharp, { type Metadata, type ResizeOptions, type Sharp } from 'sharp';
import { AppError } from '../errors';
import { decodeDicom } from './dicom';
import { coverResize, fillResize } from './resample';
import { sniffImageFormat, type ImageFormat } from './image-format';

export interface DecodeLimits {
  /** Largest accepted width×height, checked from the header before decoding. Default 100 MP. */
  maxPixels: number;
  /** Largest accepted file, in bytes. Default 200 MiB. */
  maxBytes: number;
  /** A decode still running after this many seconds is stopped (libvips' kill flag) and the file refused. Default 30. */
  maxSeconds: number;
}

export const DEFAULT_DECODE_LIMITS: Readonly<DecodeLimits> = Object.freeze({
  maxPixels: 100_000_000,
  maxBytes: 200 * 1024 * 1024,
  maxSeconds: 30,
});

/**
 * The version of the model-input preparation below (`prepareImage`: decode, working copy, crop or
 * resample). A vector is only comparable with vectors made from inputs prepared the same way, so
 * each model records the version its stored vectors were made with (models-repo.ts) and the worker
 * re-embeds the active model's library when it is older (job-service.ts `queueInputUpgrade`).
 * Whoever changes what `pixels` come out for the same bytes bumps it and adds a line here:
 * - 1: a working copy whose longest side is max(128 px, 2× the model input, the thumbnail), area-averaged
 *   to the model input in JavaScript (sessions before 2026-12-03).
 * - 2: the smallest working copy that covers the model input (sharp's lanczos3 `cover` resize, shrink on
 *   load), then a whole-pixel centre crop (`workingResize`, resample.ts): inputs moved by ~3–4 grey levels.
 */
export const MODEL_INPUT_VERSION = 2;

export interface PreprocessTarget {
  height: number;
  width: number;
  channels: 1 | 3;
  /** 'cover' (default): keep the aspect and centre-crop; 'fill': stretch, keeping the whole picture (segmentation). */
  fit?: 'cover' | 'fill';
}

export interface PreparedImage {
  format: ImageFormat;
  /** Model input, HWC uint8. */
  pixels: Uint8Array;
  originalWidth: number;
  originalHeight: number;
  /** WebP thumbnail, when asked for. */
  thumbnail: Buffer | null;
  /** Format-specific metadata (DICOM tags, bit depth). */
  metadata: Record<string, string | number>;
}

export interface PrepareOptions {
  target: PreprocessTarget;
  /** Longest side of the WebP thumbnail; 0 = none. Default 0. */
  thumbnailSize?: number;
  limits?: DecodeLimits;
  /** DICOM: keep patient-identifying tags in the metadata. Default false. */
  includePatient?: boolean;
}

async function sharpFor(
  bytes: Uint8Array,
  format: ImageFormat,
  limits: DecodeLimits,
  includePatient: boolean,
): Promise<{ image: Sharp; width: number; height: number; metadata: Record<string, string | number> }> {
  if (format === 'dicom') {
    const dicom = decodeDicom(bytes, { includePatient, maxPixels: limits.maxPixels });
    const image = sharp(dicom.pixels, { raw: { width: dicom.width, height: dicom.height, channels: 1 } });
    return { image, width: dicom.width, height: dicom.height, metadata: dicom.metadata };
  }
  const options = { failOn: 'error' as const, limitInputPixels: limits.maxPixels, pages: 1 };
  let meta: Metadata;
  try {
    meta = await sharp(bytes, options).metadata();
  } catch (error) {
    if (/exceeds pixel limit/.test((error as Error).message))
      throw new AppError('invalid_input', `this ${format} image is larger than the limit of ${limits.maxPixels} pixels`, { cause: error });
    throw new AppError('invalid_input', `cannot read this ${format} file's header: it is corrupt or truncated`, { cause: error });
  }
  const rotated = (meta.orientation ?? 1) >= 5;
  const width = (rotated ? meta.height : meta.width) ?? 0;
  const height = (rotated ? meta.width : meta.height) ?? 0;
  if (!width || !height) throw new AppError('invalid_input', `this ${format} file declares no image size`);
  if (width * height > limits.maxPixels) {
    throw new AppError('invalid_input', `image is ${width}×${height} pixels; the limit is ${limits.maxPixels} pixels`);
  }
  const metadata: Record<string, string | number> = {};
  if (meta.depth) metadata.depth = meta.depth;
  if (meta.space) metadata.space = meta.space;
  return { image: sharp(bytes, options).rotate(), width, height, metadata };
}

/**
 * The working copy's resize: the smallest copy (aspect kept, never enlarged) from which every output
 * can be made — one that covers the model input (as sharp's own `cover` does before cropping: a JPEG
 * or WebP is then shrunk on load as far as the model input allows), or, when a thumbnail is asked
 * for and needs more, the thumbnail's size. Nothing larger is decoded: each extra working pixel
 * costs decoding (less shrink on load), colour conversion and resampling time on every image.
 */
export function workingResize(width: number, height: number, target: PreprocessTarget, thumbnailSize: number): ResizeOptions {
  const modelScale = Math.min(width / target.width, height / target.height);
  const thumbnailScale = Math.max(width, height) / thumbnailSize;
  if (thumbnailSize > 0 && thumbnailScale < modelScale)
    return { width: thumbnailSize, height: thumbnailSize, fit: 'inside', withoutEnlargement: true };
  return { width: target.width, height: target.height, fit: 'outside', withoutEnlargement: true };
}

/** Something that does what `prepareImage` does (in this process, or in a decoder process: decoder-pool.ts). */
export type ImageDecode = (bytes: Uint8Array, options: PrepareOptions) => Promise<PreparedImage>;

/**
 * Bytes → model input (+ thumbnail). Throws AppError('unsupported') for formats not on the list
 * and AppError('invalid_input') for oversized, truncated or corrupt files.
 */
export async function prepareImage(bytes: Uint8Array, options: PrepareOptions): Promise<PreparedImage> {
  const limits = options.limits ?? DEFAULT_DECODE_LIMITS;
  if (bytes.length > limits.maxBytes) throw new AppError('invalid_input', `file is ${bytes.length} bytes; the limit is ${limits.maxBytes}`);
  const format = sniffImageFormat(bytes);
  const { image, width, height, metadata } = await sharpFor(bytes, format, limits, options.includePatient ?? false);
  const { target } = options;
  try {
    // One decode, shrunk on load to the smallest 8-bit working copy (grey or sRGB, as the target) that every output
    // needs; the model input (cropped or area-averaged in JavaScript, see resample.ts) and the thumbnail are both made
    // from it. Training, ingest and search all take this path, so preprocessing is identical everywhere (and a
    // thumbnail costs no second decode).
    const working = await image
      .timeout({ seconds: limits.maxSeconds })
      .resize(workingResize(width, height, target, options.thumbnailSize ?? 0))
      .toColourspace(target.channels === 1 ? 'b-w' : 'srgb')
      .removeAlpha()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    const raw = { raw: { width: working.info.width, height: working.info.height, channels: working.info.channels } };
    const resize = target.fit === 'fill' ? fillResize : coverResize;
    const pixels = resize(
      { data: working.data, width: working.info.width, height: working.info.height, channels: working.info.channels },
      target.width,
      target.height,
      target.channels,
    );
    const thumbnail = options.thumbnailSize
      ? await sharp(working.data, raw)
          .resize(options.thumbnailSize, options.thumbnailSize, { fit: 'inside', withoutEnlargement: true })
          .webp({ quality: 80, effort: 0 })
          .toBuffer()
      : null;
    return { format, pixels, originalWidth: width, originalHeight: height, thumbnail, metadata };
  } catch (error) {
    if (/out of memory/i.test((error as Error).message))
      throw new AppError('undecodable', `decoding this ${format} file needs more memory than the decoder may use; refused`, {
        cause: error,
      });
    if (/timeout/.test((error as Error).message))
      throw new AppError('invalid_input', `this ${format} file took longer than ${limits.maxSeconds} s to decode; refused`, {
        cause: error,
      });
    throw new AppError('invalid_input', `cannot decode this ${format} file: it is corrupt or truncated`, { cause: error });
  }
}

/** Bytes → model input pixels only (training). */
export async function preprocessImage(
  bytes: Uint8Array,
  target: PreprocessTarget,
  limits: DecodeLimits = DEFAULT_DECODE_LIMITS,
): Promise<PreparedImage> {
  return prepareImage(bytes, { target, limits });
}
