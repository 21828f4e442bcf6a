/**
 * The only module that imports sharp. Decodes bytes whose format was sniffed from the bytes,
 * applies EXIF orientation, refuses oversized or corrupt files, and produces the model's input:
 * `size`×`size` (centre crop), 1 or 3 channels, uint8. Training, ingest and search all prepare
 * images through `preprocessImage`, so a model never sees data prepared two ways.
 */
import sharp, { type Metadata } from 'sharp';
import { AppError } from '../errors';
import { sniffImageFormat, type ImageFormat } from './image-format';

export interface DecodeLimits {
  /** Largest accepted width×height, checked from the header before decoding. Default 100 MP. */
  maxPixels: number;
  /** Largest accepted file, in bytes. Default 200 MiB. */
  maxBytes: number;
}

export const DEFAULT_DECODE_LIMITS: Readonly<DecodeLimits> = Object.freeze({ maxPixels: 100_000_000, maxBytes: 200 * 1024 * 1024 });

export interface PreprocessTarget { height: number; width: number; channels: 1 | 3 }

export interface PreparedImage { format: ImageFormat; pixels: Uint8Array; originalWidth: number; originalHeight: number }

/**
 * Bytes → model input pixels (uint8, HWC). Throws AppError('unsupported') for formats not on the
 * list and AppError('invalid_input') for oversized, truncated or corrupt files.
 */
export async function preprocessImage(bytes: Uint8Array, target: PreprocessTarget, limits: DecodeLimits = DEFAULT_DECODE_LIMITS): Promise<PreparedImage> {
  if (bytes.length > limits.maxBytes) throw new AppError('invalid_input', `file is ${bytes.length} bytes; the limit is ${limits.maxBytes}`);
  const format = sniffImageFormat(bytes);
  const options = { failOn: 'error' as const, limitInputPixels: limits.maxPixels, pages: 1 };
  let meta: Metadata;
  try {
    meta = await sharp(bytes, options).metadata();
  } catch (error) {
    throw new AppError('invalid_input', `cannot read this ${format} file's header: it is corrupt or truncated`, { cause: error });
  }
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  if (!width || !height) throw new AppError('invalid_input', `this ${format} file declares no image size`);
  if (width * height > limits.maxPixels) {
    throw new AppError('invalid_input', `image is ${width}×${height} pixels; the limit is ${limits.maxPixels} pixels`);
  }
  try {
    let pipeline = sharp(bytes, options).rotate().resize(target.width, target.height, { fit: 'cover', position: 'centre' });
    pipeline = target.channels === 1 ? pipeline.grayscale() : pipeline.removeAlpha().toColourspace('srgb');
    const { data, info } = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    if (info.channels !== target.channels) {
      throw new Error(`decoder produced ${info.channels} channels, expected ${target.channels}`);
    }
    return { format, pixels: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), originalWidth: width, originalHeight: height };
  } catch (error) {
    throw new AppError('invalid_input', `cannot decode this ${format} file: it is corrupt or truncated`, { cause: error });
  }
}
