/**
 * Cases the decoder fuzzer (npm run bench:fuzz) flagged, pinned: each replays from its seed
 * (test/fuzz/mutate.ts) and must be answered as any upload is — an image, or an AppError with a
 * 4xx status — never a crash, a hang or an untyped error. The three below got no answer in the
 * first 10,000-case run (seed 1) while the server stayed up; replayed alone they were refused with
 * 413 (a chunk repeated 2,000 times: 60 MB) and 400 (an IHDR width of 2^31 − 1; a DICOM without
 * Rows and Columns).
 */
import { beforeAll, expect, it } from 'vitest';
import { AppError } from '../../../lib/errors';
import { prepareImage } from '../../../lib/images/image-decoder';
import { fuzzCorpus } from '../../fuzz/corpus';
import { fuzzCase, type SeedFile } from '../../fuzz/mutate';

const PINNED = [3414632804, 1366488015, 1565165733];
let corpus: SeedFile[];

beforeAll(async () => {
  corpus = await fuzzCorpus();
});

it('replays a case exactly from its seed', () => {
  const a = fuzzCase(corpus, 1366488015);
  const b = fuzzCase(corpus, 1366488015);
  expect(b.bytes).toEqual(a.bytes);
  expect(b.mutation).toBe(a.mutation);
  expect(fuzzCase(corpus, 1366488016).bytes).not.toEqual(a.bytes);
});

it.each(PINNED)('case %i is answered: an image or a typed 4xx error', async (seed) => {
  const c = fuzzCase(corpus, seed);
  try {
    const image = await prepareImage(c.bytes, { target: { height: 28, width: 28, channels: 1 }, thumbnailSize: 160 });
    expect(image.pixels).toHaveLength(28 * 28);
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    expect((error as AppError).status).toBeGreaterThanOrEqual(400);
    expect((error as AppError).status).toBeLessThan(500);
  }
});
