/**
 * Segmentation masks as PNG files, through sharp like every other image: reading a mask's exact
 * pixel values (greyscale PNG only, sniffed from the bytes, size limits checked before decoding)
 * and writing a predicted mask as a coloured, transparent PNG to lay over the photo.
 */
import sharp from 'sharp';
import { AppError } from '../errors';
import { DEFAULT_DECODE_LIMITS, type DecodeLimits } from './image-decoder';
import { sniffImageFormat } from './image-format';

export interface MaskPixels {
  width: number;
  height: number;
  /** One value per pixel, row-major, exactly as stored (no resampling). */
  values: Uint8Array;
}

/**
 * Bytes of an 8-bit greyscale PNG (or grey values stored as RGB) → its pixel values. Other
 * formats are refused (lossy JPEG would invent values at every edge), and so are colour PNGs,
 * whose class values are ambiguous.
 */
export async function decodeMaskPng(bytes: Uint8Array, limits: DecodeLimits = DEFAULT_DECODE_LIMITS): Promise<MaskPixels> {
  if (bytes.length > limits.maxBytes) throw new AppError('invalid_input', `mask is ${bytes.length} bytes; the limit is ${limits.maxBytes}`);
  const format = sniffImageFormat(bytes);
  if (format !== 'png') throw new AppError('invalid_input', `a mask must be a PNG, this file is ${format}`);
  const options = { failOn: 'error' as const, limitInputPixels: limits.maxPixels };
  try {
    const meta = await sharp(bytes, options).metadata();
    if ((meta.width ?? 0) * (meta.height ?? 0) > limits.maxPixels)
      throw new AppError('invalid_input', `mask is ${meta.width}×${meta.height} pixels; the limit is ${limits.maxPixels} pixels`);
    const { data, info } = await sharp(bytes, options).removeAlpha().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    const pixels = info.width * info.height;
    if (info.channels === 1)
      return { width: info.width, height: info.height, values: new Uint8Array(data.buffer, data.byteOffset, pixels) };
    // Grey values saved as RGB (or a grey palette) are accepted; real colours are not class values.
    const values = new Uint8Array(pixels);
    for (let i = 0; i < pixels; i++) {
      const r = data[i * info.channels]!;
      if (data[i * info.channels + 1] !== r || data[i * info.channels + 2] !== r)
        throw new AppError('invalid_input', 'a mask must be a greyscale PNG (one value per pixel); this one has colours');
      values[i] = r;
    }
    return { width: info.width, height: info.height, values };
  } catch (error) {
    if (error instanceof AppError) throw error;
    throw new AppError('invalid_input', 'cannot decode this mask PNG: it is corrupt or truncated', { cause: error });
  }
}

export interface OverlayOptions {
  /** RGB colour of each class, background (class 0) first; background is always transparent. Default: a red foreground. */
  colors?: readonly (readonly [number, number, number])[];
  /** Opacity of foreground pixels, 0–255. Default 255 (the page sets its own opacity). */
  alpha?: number;
}

const DEFAULT_COLORS: readonly (readonly [number, number, number])[] = [
  [0, 0, 0],
  [230, 25, 75],
  [60, 180, 75],
  [0, 130, 200],
  [245, 130, 48],
  [145, 30, 180],
  [70, 240, 240],
  [240, 50, 230],
];

/** A class map (0 = background) as an RGBA PNG: classes coloured, background transparent. */
export async function encodeMaskOverlay(classes: Uint8Array, width: number, height: number, options: OverlayOptions = {}): Promise<Buffer> {
  if (classes.length !== width * height) throw new AppError('invalid_input', `${classes.length} mask pixels for ${width}×${height}`);
  const colors = options.colors ?? DEFAULT_COLORS;
  const alpha = options.alpha ?? 255;
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < classes.length; i++) {
    const c = classes[i]!;
    if (c === 0) continue;
    const color = colors[c % colors.length] ?? colors[1]!;
    rgba.set([color[0], color[1], color[2], alpha], i * 4);
  }
  return sharp(rgba, { raw: { width, height, channels: 4 } })
    .png({ compressionLevel: 6 })
    .toBuffer();
}
