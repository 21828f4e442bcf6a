/**
 * Fashion-MNIST from Debian's `dataset-fashion-mnist` package: 60,000 training and 10,000 test
 * images, 28×28 grey, in gzipped IDX files. Read straight into an ImageSet of uint8 pixels.
 */
import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { AppError } from '../errors';
import type { ImageSet } from './image-set';

export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';
export const FASHION_MNIST_CLASSES = Object.freeze(['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot']);

async function readIdx(path: string, expectedMagic: number): Promise<{ dims: number[]; data: Uint8Array }> {
  let raw: Buffer;
  try {
    raw = await readFile(path);
  } catch (error) {
    throw new AppError('not_found', `Fashion-MNIST file ${path} not found; install it with: apt-get install -y dataset-fashion-mnist`, { cause: error });
  }
  const bytes = path.endsWith('.gz') ? gunzipSync(raw) : raw;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  if (magic !== expectedMagic) throw new AppError('invalid_input', `${path} is not an IDX file of the expected kind (magic 0x${magic.toString(16)})`);
  const rank = magic & 0xff;
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i));
  const start = 4 + 4 * rank;
  const size = dims.reduce((a, b) => a * b, 1);
  if (bytes.length - start < size) throw new AppError('invalid_input', `${path} is truncated: ${bytes.length - start} bytes for ${size} values`);
  return { dims, data: new Uint8Array(bytes.buffer, bytes.byteOffset + start, size) };
}

/** Loads the 'train' (60,000) or 'test' (10,000) split, optionally only the first `limit` images. */
export async function loadFashionMnist(split: 'train' | 'test', options: { limit?: number; dir?: string } = {}): Promise<ImageSet> {
  const dir = options.dir ?? FASHION_MNIST_DIR;
  const prefix = split === 'train' ? 'train' : 't10k';
  const images = await readIdx(`${dir}/${prefix}-images-idx3-ubyte.gz`, 0x00000803);
  const labels = await readIdx(`${dir}/${prefix}-labels-idx1-ubyte.gz`, 0x00000801);
  const [total, height, width] = images.dims as [number, number, number];
  const count = Math.min(total, options.limit ?? total);
  return {
    pixels: images.data.subarray(0, count * height * width),
    count, height, width, channels: 1,
    labels: labels.data.subarray(0, count),
  };
}
