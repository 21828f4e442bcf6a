/**
 * Decoding refuses what it must (with an error naming the problem) and handles real files right:
 * formats from bytes not names, limits from headers before decoding, truncated and corrupt files,
 * 16-bit images, EXIF orientation, and DICOM (endianness, compressed syntaxes, truncation,
 * patient tags).
 */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { isAppError, type ErrorCode } from '../../../lib/errors';
import { clearPreamble, decodeDicom } from '../../../lib/images/dicom';
import { prepareImage, type PrepareOptions } from '../../../lib/images/image-decoder';
import { sniffImageFormat } from '../../../lib/images/image-format';
import { dicom, jpegClaiming, photo, pngClaiming, tiff16, xray } from '../../helpers/files';

const grey64: PrepareOptions = { target: { height: 64, width: 64, channels: 1 } };

async function refusal(bytes: Uint8Array, options: PrepareOptions = grey64): Promise<{ code: ErrorCode; message: string }> {
  try {
    await prepareImage(bytes, options);
  } catch (error) {
    if (!isAppError(error)) throw error;
    return { code: error.code, message: error.message };
  }
  throw new Error('expected the image to be refused');
}

const text = (s: string) => new TextEncoder().encode(s);

describe('formats are decided from the bytes', () => {
  it('accepts JPEG, PNG and DICOM whatever the name, and names the accepted formats when refusing', async () => {
    expect(sniffImageFormat(photo())).toBe('jpeg');
    expect(sniffImageFormat(xray())).toBe('png');
    expect(sniffImageFormat(dicom('CT_small.dcm'))).toBe('dicom');
    for (const [bytes, kind] of [
      [text('<svg xmlns="http://www.w3.org/2000/svg"><rect width="10" height="10"/></svg>'), 'SVG'],
      [text('<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"></svg>'), 'SVG'],
      [text('<!DOCTYPE html><html><body>hi</body></html>'), 'HTML'],
      [text('%PDF-1.7\n%âãÏÓ\n1 0 obj'), 'PDF'],
      [new Uint8Array(0), 'an empty file'],
      [new Uint8Array([0x4d, 0x5a, 0x90, 0x00, 3, 0, 0, 0]), 'a Windows executable'],
    ] as const) {
      const refused = await refusal(bytes);
      expect(refused.code).toBe('unsupported');
      expect(refused.message).toContain(kind);
      expect(refused.message).toContain('accepted formats: dicom, jpeg, png, webp, tiff, gif, avif');
    }
  });

  it('refuses a polyglot: a GIF-looking header before an SVG is a corrupt GIF, not an SVG', async () => {
    const polyglot = new Uint8Array([...text('GIF89a'), ...text('<svg xmlns="http://www.w3.org/2000/svg"/>')]);
    expect((await refusal(polyglot)).code).toBe('invalid_input');
  });
});

describe('limits and damage', () => {
  it('refuses headers claiming huge dimensions before decoding', async () => {
    const png = await refusal(pngClaiming(xray(), 50_000, 50_000));
    expect(png.code).toBe('invalid_input');
    const jpeg = await refusal(jpegClaiming(photo(), 50_000, 50_000));
    expect(jpeg.code).toBe('invalid_input');
    const tiff = await refusal(tiff16(new Uint16Array(64), 60_000, 60_000)); // 3.6 gigapixels declared, 128 bytes present
    expect(tiff.code).toBe('invalid_input');
    expect(tiff.message).toMatch(/larger than the limit of 100000000 pixels/);
  });

  it('refuses truncated JPEG and PNG files at several points', async () => {
    for (const bytes of [photo(), xray()]) {
      for (const fraction of [0.02, 0.3, 0.7, 0.95]) {
        const cut = bytes.subarray(0, Math.floor(bytes.length * fraction));
        const refused = await refusal(cut);
        expect(refused.code, `cut at ${fraction}`).toBe('invalid_input');
      }
    }
  });

  it('refuses files over the byte limit', async () => {
    expect((await refusal(photo(), { ...grey64, limits: { maxBytes: 1000, maxPixels: 1e8, maxSeconds: 30 } })).message).toMatch(
      /limit is 1000/,
    );
  });
});

describe('real images come out right', () => {
  it('a chest X-ray becomes a 64×64 grey model input and a WebP thumbnail', async () => {
    const image = await prepareImage(xray(), { ...grey64, thumbnailSize: 128 });
    expect(image.pixels.length).toBe(64 * 64);
    expect(Math.max(...image.pixels)).toBeGreaterThan(100);
    expect(sniffImageFormat(image.thumbnail!)).toBe('webp');
    expect(Math.max(image.originalWidth, image.originalHeight)).toBe(512);
  });

  it('16-bit PNG and TIFF decode to the same picture as their 8-bit source', async () => {
    const eight = await prepareImage(xray(), grey64);
    const { data, info } = await sharp(xray()).greyscale().raw().toBuffer({ resolveWithObject: true });
    const png16 = new Uint8Array(
      await sharp(data, { raw: { width: info.width, height: info.height, channels: 1 } })
        .toColourspace('grey16')
        .png()
        .toBuffer(),
    );
    const tif16 = tiff16(
      Uint16Array.from(data, (v) => v * 257),
      info.width,
      info.height,
    );
    for (const sixteen of [png16, tif16]) {
      expect((await sharp(sixteen).metadata()).depth).toBe('ushort');
      const decoded = await prepareImage(sixteen, grey64);
      const diff = decoded.pixels.reduce((s, v, i) => s + Math.abs(v - eight.pixels[i]!), 0) / decoded.pixels.length;
      expect(diff).toBeLessThan(1.5);
    }
  });

  it('applies EXIF orientation: a JPEG tagged "rotate 90°" decodes like the rotated picture', async () => {
    const base = sharp(photo()).resize(192, 96);
    const tagged = new Uint8Array(await base.clone().jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer());
    const a = await prepareImage(tagged, grey64);
    expect([a.originalWidth, a.originalHeight]).toEqual([96, 192]);
    const diff = async (angle: number) => {
      const b = await prepareImage(new Uint8Array(await base.clone().rotate(angle).jpeg({ quality: 95 }).toBuffer()), grey64);
      return a.pixels.reduce((s, v, i) => s + Math.abs(v - b.pixels[i]!), 0) / a.pixels.length;
    };
    expect(await diff(90)).toBeLessThan((await diff(270)) / 3);
  });

  it('every EXIF orientation, 1 to 8, decodes upright', async () => {
    const upright = await sharp(photo()).resize(96, 64, { fit: 'fill' }).png().toBuffer();
    const fill: PrepareOptions = { target: { height: 32, width: 48, channels: 1, fit: 'fill' } };
    const reference = await prepareImage(new Uint8Array(await sharp(upright).jpeg({ quality: 100 }).toBuffer()), fill);
    // What a camera stores for each tag: the upright picture under the inverse of the tag's transform.
    const stored: Record<number, (image: Buffer) => Promise<Buffer>> = {
      1: async (b) => b,
      2: (b) => sharp(b).flop().png().toBuffer(),
      3: (b) => sharp(b).rotate(180).png().toBuffer(),
      4: (b) => sharp(b).flip().png().toBuffer(),
      5: async (b) =>
        sharp(await sharp(b).rotate(90).png().toBuffer())
          .flop()
          .png()
          .toBuffer(), // transpose
      6: (b) => sharp(b).rotate(270).png().toBuffer(),
      7: async (b) =>
        sharp(await sharp(b).rotate(90).png().toBuffer())
          .flip()
          .png()
          .toBuffer(), // transverse
      8: (b) => sharp(b).rotate(90).png().toBuffer(),
    };
    for (let orientation = 1; orientation <= 8; orientation++) {
      const raw = await stored[orientation]!(upright);
      const tagged = new Uint8Array(await sharp(raw).jpeg({ quality: 100 }).withMetadata({ orientation }).toBuffer());
      const decoded = await prepareImage(tagged, fill);
      expect([decoded.originalWidth, decoded.originalHeight], `orientation ${orientation}`).toEqual([96, 64]);
      const diff = decoded.pixels.reduce((sum, v, i) => sum + Math.abs(v - reference.pixels[i]!), 0) / decoded.pixels.length;
      expect(diff, `orientation ${orientation}`).toBeLessThan(3);
    }
  });

  it('a CMYK JPEG decodes to the same picture as its sRGB original', async () => {
    const rgb = await sharp(photo()).resize(96, 64).jpeg({ quality: 95 }).toBuffer();
    const cmyk = new Uint8Array(await sharp(rgb).toColourspace('cmyk').jpeg({ quality: 95 }).toBuffer());
    expect((await sharp(cmyk).metadata()).space).toBe('cmyk');
    const colour: PrepareOptions = { target: { height: 32, width: 32, channels: 3 } };
    const a = await prepareImage(cmyk, colour);
    const b = await prepareImage(new Uint8Array(rgb), colour);
    const diff = a.pixels.reduce((sum, v, i) => sum + Math.abs(v - b.pixels[i]!), 0) / a.pixels.length;
    expect(diff).toBeLessThan(8);
  });

  it('AVIF, WebP, GIF (first frame) and multi-page TIFF (first page) decode', async () => {
    const base = sharp(photo()).resize(64, 48);
    const avif = new Uint8Array(await base.clone().avif().toBuffer());
    expect(sniffImageFormat(avif)).toBe('avif');
    expect((await prepareImage(avif, grey64)).originalWidth).toBe(64);
    const webp = new Uint8Array(await base.clone().webp().toBuffer());
    expect((await prepareImage(webp, grey64)).format).toBe('webp');
    const frames = await Promise.all(
      [0, 255].map((v) =>
        sharp({ create: { width: 16, height: 16, channels: 3, background: { r: v, g: v, b: v } } })
          .raw()
          .toBuffer(),
      ),
    );
    const strip = Buffer.concat(frames);
    const gif = new Uint8Array(
      await sharp(strip, { raw: { width: 16, height: 32, channels: 3, pageHeight: 16 } as never })
        .gif()
        .toBuffer(),
    );
    const tif = new Uint8Array(
      await sharp(strip, { raw: { width: 16, height: 32, channels: 3, pageHeight: 16 } as never })
        .tiff()
        .toBuffer(),
    );
    for (const bytes of [gif, tif]) {
      const first = await prepareImage(bytes, grey64);
      expect(Math.max(...first.pixels)).toBeLessThan(10); // the black first frame/page, not the white second
    }
  });

  it('an RGB photo becomes a 3-channel input', async () => {
    const image = await prepareImage(photo(), { target: { height: 32, width: 32, channels: 3 } });
    expect(image.pixels.length).toBe(32 * 32 * 3);
  });
});

describe('DICOM', () => {
  it('decodes 16-bit signed CT with rescale and window, keeping patient tags out', () => {
    const ct = decodeDicom(dicom('CT_small.dcm'));
    expect([ct.width, ct.height]).toEqual([128, 128]);
    expect(new Set(ct.pixels).size).toBeGreaterThan(50);
    expect(ct.metadata.modality).toBe('CT');
    expect(ct.metadata.patientName).toBeUndefined();
    expect(decodeDicom(dicom('CT_small.dcm'), { includePatient: true }).metadata.patientName).toBeTruthy();
  });

  it('big-endian and implicit little-endian files decode to the same pixels as explicit little-endian', () => {
    const reference = decodeDicom(dicom('MR_small.dcm')).pixels;
    expect(decodeDicom(dicom('MR_small_bigendian.dcm')).pixels).toEqual(reference);
    expect(decodeDicom(dicom('MR_small_implicit.dcm')).pixels).toEqual(reference);
  });

  it('refuses compressed transfer syntaxes by name', async () => {
    for (const [file, name] of [
      ['JPEG2000.dcm', 'JPEG 2000'],
      ['MR_small_RLE.dcm', 'RLE Lossless'],
      ['JPEG-lossy.dcm', 'JPEG'],
      ['MR_small_jpeg_ls_lossless.dcm', 'JPEG-LS'],
    ] as const) {
      const refused = await refusal(dicom(file));
      expect(refused.code, file).toBe('unsupported');
      expect(refused.message).toContain(name);
    }
  });

  it('refuses a file whose pixel data runs past its end, and one cut short', async () => {
    expect((await refusal(dicom('MR_truncated.dcm'))).code).toBe('invalid_input');
    const full = dicom('MR_small.dcm');
    expect((await refusal(full.subarray(0, full.length - 500))).message).toMatch(/DICOM/);
  });

  it('refuses a file without the DICM preamble as an unknown format', async () => {
    expect((await refusal(dicom('no_meta.dcm'))).code).toBe('unsupported');
  });

  it('ignores an executable header hidden in the 128-byte preamble, and clears it for serving', async () => {
    const bytes = dicom('MR_small.dcm').slice();
    bytes.set([0x4d, 0x5a, 0x90, 0x00], 0);
    const image = await prepareImage(bytes, grey64);
    expect(image.format).toBe('dicom');
    const cleared = clearPreamble(bytes);
    expect(cleared.subarray(0, 128).every((b) => b === 0)).toBe(true);
    expect(cleared.subarray(128)).toEqual(bytes.subarray(128));
    expect(bytes[0]).toBe(0x4d); // the stored bytes (and their hash) are untouched
    expect(decodeDicom(cleared).pixels).toEqual(decodeDicom(bytes).pixels);
  });
});
