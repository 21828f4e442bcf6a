/**
 * The active model's index rebuilt from a real SQLite file as background work: progress, a saved
 * index that opens without another rebuild, and a cancellation that leaves the saved one whole.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../lib/config';
import { isAppError } from '../../lib/errors';
import { seededRandom } from '../../lib/random';
import { openLibrary, type Library } from '../../lib/services/library';
import { forgetOpenIndexes, openModelIndex, rebuildModelIndex } from '../../lib/services/model-service';
import { putEmbedding } from '../../lib/store/embeddings-repo';
import { insertImage } from '../../lib/store/images-repo';
import { activateModel, registerModel, type ModelRecord } from '../../lib/store/models-repo';
import { MODEL_INPUT_VERSION } from '../../lib/images/image-decoder';

const DIM = 8;
let dir: string;
let library: Library;
let model: ModelRecord;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'latent-atlas-rebuild-'));
  library = openLibrary(parseConfig({ LATENT_ATLAS_DATA_DIR: dir }));
  model = registerModel(library.db, { name: 'm', dir: '/nowhere', spec: {}, latentSize: DIM, inputVersion: MODEL_INPUT_VERSION });
  activateModel(library.db, model.id);
  const random = seededRandom(2);
  for (let i = 0; i < 3000; i++) {
    const id = insertImage(library.db, {
      contentHash: createHash('sha256').update(`r${i}`).digest('hex'),
      originalName: null,
      format: 'png',
      byteSize: 1,
      width: 1,
      height: 1,
      modality: 'photo',
    });
    putEmbedding(
      library.db,
      id,
      model.id,
      Float32Array.from({ length: DIM }, () => random()),
    );
  }
});
afterAll(() => {
  library.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('rebuilding the index as a job would', () => {
  it('reports progress, saves, and the next open loads it as is', async () => {
    const progress: number[] = [];
    const result = await rebuildModelIndex(library, { onProgress: (done) => progress.push(done) });
    expect(result.vectors).toBe(3000);
    expect(progress.at(-1)).toBe(3000);
    expect(progress.length).toBe(3);
    forgetOpenIndexes();
    const opened = openModelIndex(library, model);
    expect(opened).toMatchObject({ rebuilt: false, reconciled: false });
    expect(opened.index.size).toBe(3000);
  });

  it('cancelled, leaves the saved index whole', async () => {
    const stop = new AbortController();
    await expect(rebuildModelIndex(library, { signal: stop.signal, onProgress: () => stop.abort() })).rejects.toSatisfy((e) =>
      isAppError(e, 'cancelled'),
    );
    forgetOpenIndexes();
    const opened = openModelIndex(library, model);
    expect(opened).toMatchObject({ rebuilt: false });
    expect(opened.index.size).toBe(3000);
  });
});
