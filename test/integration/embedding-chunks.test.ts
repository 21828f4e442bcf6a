/**
 * Vectors read from a real SQLite file in chunks into typed arrays: every live vector once, in
 * image-id order, bit for bit, whatever the chunk size; deleted images and other models left out;
 * the one-array read allocated at its final size.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../lib/config';
import { openLibrary, type Library } from '../../lib/services/library';
import { embeddingChunks, iterateEmbeddings, putEmbedding, readEmbeddings } from '../../lib/store/embeddings-repo';
import { deleteImage, insertImage } from '../../lib/store/images-repo';
import { registerModel } from '../../lib/store/models-repo';
import { MODEL_INPUT_VERSION } from '../../lib/images/image-decoder';
import { seededRandom } from '../../lib/random';

const DIM = 5;
let dir: string;
let library: Library;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'latent-atlas-chunks-'));
  library = openLibrary(parseConfig({ LATENT_ATLAS_DATA_DIR: dir }));
});
afterEach(() => {
  library.close();
  rmSync(dir, { recursive: true, force: true });
});

/** `count` images with a random vector each under model a (and another under model b); returns a's vectors by id. */
function store(count: number) {
  const a = registerModel(library.db, { name: 'a', dir: '/a', spec: {}, latentSize: DIM, inputVersion: MODEL_INPUT_VERSION });
  const b = registerModel(library.db, { name: 'b', dir: '/b', spec: {}, latentSize: DIM, inputVersion: MODEL_INPUT_VERSION });
  const random = seededRandom(5);
  const vectors = new Map<number, Float32Array>();
  for (let i = 0; i < count; i++) {
    const id = insertImage(library.db, {
      contentHash: createHash('sha256').update(`v${i}`).digest('hex'),
      originalName: null,
      format: 'png',
      byteSize: 1,
      width: 1,
      height: 1,
      modality: 'photo',
    });
    const vector = Float32Array.from({ length: DIM }, () => random() * 2 - 1);
    putEmbedding(library.db, id, a.id, vector);
    if (i % 2 === 0)
      putEmbedding(
        library.db,
        id,
        b.id,
        vector.map((v) => v + 100),
      );
    vectors.set(id, vector);
  }
  return { a, b, vectors };
}

describe('vectors read in chunks', () => {
  it('yields every live vector once, in id order, in chunks of the given size', () => {
    const { a, vectors } = store(50);
    const deleted = [3, 17, 18, 50];
    for (const id of deleted) deleteImage(library.db, id);
    const chunks = [...embeddingChunks(library.db, a.id, DIM, 7)];
    expect(chunks.map((c) => c.ids.length)).toEqual([7, 7, 7, 7, 7, 7, 4]);
    for (const c of chunks) {
      expect(c.vectors).toBeInstanceOf(Float32Array);
      expect(c.vectors.length).toBe(c.ids.length * DIM);
    }
    const ids = chunks.flatMap((c) => c.ids);
    expect(ids).toEqual([...vectors.keys()].filter((id) => !deleted.includes(id)));
    chunks.forEach((c) => c.ids.forEach((id, r) => expect(c.vectors.subarray(r * DIM, (r + 1) * DIM)).toEqual(vectors.get(id))));
  });

  it('reads one array of the final size, equal to the chunks joined, for any chunk size', () => {
    const { a, b, vectors } = store(23);
    for (const rows of [1, 4, 23, 1000]) {
      const { ids, data } = readEmbeddings(library.db, a.id, DIM, rows);
      expect(ids).toEqual([...vectors.keys()]);
      expect(data.length).toBe(23 * DIM);
      ids.forEach((id, r) => expect(data.subarray(r * DIM, (r + 1) * DIM)).toEqual(vectors.get(id)));
    }
    const other = readEmbeddings(library.db, b.id, DIM, 5);
    expect(other.ids).toEqual([...vectors.keys()].filter((_, i) => i % 2 === 0));
    expect(other.data[0]).toBeCloseTo(vectors.get(1)![0]! + 100, 4);
    expect([...iterateEmbeddings(library.db, a.id, DIM)].map((e) => e.imageId)).toEqual([...vectors.keys()]);
  });

  it('reads nothing from an empty model, and refuses vectors of another width', () => {
    const { a } = store(3);
    const empty = registerModel(library.db, { name: 'c', dir: '/c', spec: {}, latentSize: DIM, inputVersion: MODEL_INPUT_VERSION });
    expect([...embeddingChunks(library.db, empty.id, DIM)]).toEqual([]);
    expect(readEmbeddings(library.db, empty.id, DIM).data.length).toBe(0);
    expect(() => [...embeddingChunks(library.db, a.id, DIM + 1)]).toThrow(/expected 6/);
  });
});
