/**
 * Model-sized pixels → PNG, for the views that show what a model sees and makes (its input,
 * its reconstruction, images decoded along a latent walk). Scaled up with nearest neighbour so
 * a 28×28 reconstruction stays crisp in the browser.
 */
import sharp from 'sharp';

export interface PixelImage {
  /** HWC values in [0, 1]. */
  pixels: Float32Array | Uint8Array;
  width: number;
  height: number;
  channels: 1 | 3;
}

/** PNG of one image (floats in [0,1] or bytes), enlarged to `scale` × its size. */
export async function encodePng(image: PixelImage, scale = 1): Promise<Buffer> {
  const bytes =
    image.pixels instanceof Uint8Array ? image.pixels : Uint8Array.from(image.pixels, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255));
  return sharp(bytes, { raw: { width: image.width, height: image.height, channels: image.channels } })
    .resize(image.width * scale, image.height * scale, { kernel: 'nearest' })
    .png({ compressionLevel: 6 })
    .toBuffer();
}

/** PNG of several same-sized images side by side, `gap` pixels apart (white). */
export async function encodePngStrip(images: PixelImage[], scale = 1, gap = 2): Promise<Buffer> {
  const first = images[0];
  if (!first) throw new Error('a strip needs at least one image');
  const { width, height, channels } = first;
  const stripWidth = images.length * width + (images.length - 1) * gap;
  const out = new Uint8Array(stripWidth * height * channels).fill(255);
  images.forEach((image, i) => {
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width * channels; x++) {
        const v = image.pixels[y * width * channels + x]!;
        out[y * stripWidth * channels + i * (width + gap) * channels + x] =
          image.pixels instanceof Uint8Array ? v : Math.round(Math.min(1, Math.max(0, v)) * 255);
      }
  });
  return encodePng({ pixels: out, width: stripWidth, height, channels }, scale);
}
