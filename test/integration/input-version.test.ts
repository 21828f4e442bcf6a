/**
 * A library embedded before the model-input preparation changed (MODEL_INPUT_VERSION) is
 * re-embedded by the idle worker, once: the version each model's vectors were made with is stored
 * (old rows read 1, new models today's), a completed re-embed makes it current, a cancelled one
 * leaves it old without a re-queue loop, and switching to an old model later re-embeds that one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MODEL_INPUT_VERSION } from '../../lib/images/image-decoder';
import { queueCatchUp, queueInputUpgrade, queueJob, runJobs, runNextJob } from '../../lib/jobs/job-service';
import { embedMissing, ingestFolder } from '../../lib/services/ingest-service';
import { openLibrary, type Library } from '../../lib/services/library';
import { searchSimilar } from '../../lib/services/search-service';
import { moveToTrash, restoreFromTrash } from '../../lib/services/trash-service';
import { switchActiveModel } from '../../lib/services/model-service';
import { parseConfig } from '../../lib/config';
import { openDatabase, SCHEMA_VERSION } from '../../lib/store/database';
import { countEmbeddings, countImagesWithoutEmbedding, getEmbedding } from '../../lib/store/embeddings-repo';
import { listJobs, type Job } from '../../lib/store/jobs-repo';
import {
  activateModel,
  activeModel,
  registerModel,
  setVectorsInputVersion,
  vectorsEpoch,
  vectorsInputVersion,
} from '../../lib/store/models-repo';
import { startWasm } from '../helpers/engine';
import { addModel, fashionFolder, tempLibrary } from '../helpers/library';

let library: Library;
let dataDir: string;
let folder: string;
const IMAGES = 40;

beforeAll(async () => {
  await startWasm();
  ({ library, dataDir } = await tempLibrary());
  folder = await fashionFolder(IMAGES);
  await ingestFolder(library, folder);
});
afterAll(() => {
  library.close();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(folder, { recursive: true, force: true });
});

const embedJobs = (): Job[] => listJobs(library.db).filter((j) => j.kind === 'embed');
const clearJobs = () => library.db.prepare('DELETE FROM jobs').run();
/** As a library embedded before this version finds its active model after the upgrade. */
const asUpgraded = (modelId: number) => setVectorsInputVersion(library.db, modelId, 1);

describe('the stored version', () => {
  it('a model registered before it was recorded reads 1; one registered now reads the current version', () => {
    const dir = mkdtempSync(join(tmpdir(), 'latent-atlas-db-'));
    try {
      let db = openDatabase(join(dir, 'atlas.db'));
      const model = registerModel(db, { name: 'm', dir: '/nowhere', spec: {}, latentSize: 4, inputVersion: MODEL_INPUT_VERSION });
      expect(vectorsInputVersion(db, model.id)).toBe(MODEL_INPUT_VERSION);
      expect(MODEL_INPUT_VERSION).toBeGreaterThan(1);
      // The same file as the previous release left it: no column, the schema one version back.
      db.exec('ALTER TABLE models DROP COLUMN vectors_input_version');
      db.pragma(`user_version = ${SCHEMA_VERSION - 1}`);
      db.close();
      db = openDatabase(join(dir, 'atlas.db'));
      expect(vectorsInputVersion(db, model.id)).toBe(1);
      const added = registerModel(db, { name: 'n', dir: '/nowhere', spec: {}, latentSize: 4, inputVersion: MODEL_INPUT_VERSION });
      expect(vectorsInputVersion(db, added.id)).toBe(MODEL_INPUT_VERSION);
      db.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a model registered through the library starts at the current version', () => {
    expect(vectorsInputVersion(library.db, activeModel(library.db)!.id)).toBe(MODEL_INPUT_VERSION);
  });
});

describe('the idle check', () => {
  it('queues nothing without an active model', () => {
    const empty = mkdtempSync(join(tmpdir(), 'latent-atlas-lib-'));
    const bare = openLibrary(parseConfig({ LATENT_ATLAS_DATA_DIR: empty, LATENT_ATLAS_WORKERS: '1' }));
    try {
      expect(queueInputUpgrade(bare, null)).toBeNull();
      expect(listJobs(bare.db)).toEqual([]);
    } finally {
      bare.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('a reason is refused on an embed job that is not a re-embed of every image', () => {
    expect(() => queueJob(library, 'embed', { reason: 'input-version' })).toThrow(expect.objectContaining({ code: 'invalid_input' }));
    expect(() => queueJob(library, 'embed', { all: true, reason: 'other' })).toThrow(expect.objectContaining({ code: 'invalid_input' }));
  });

  it('queues nothing for an active model whose vectors are current', () => {
    clearJobs();
    expect(queueInputUpgrade(library, null)).toBeNull();
    expect(embedJobs()).toEqual([]);
  });

  it('queues one re-embed of every image for an old active model, runs it, and then the model is current', async () => {
    clearJobs();
    const model = activeModel(library.db)!;
    asUpgraded(model.id);
    expect(queueInputUpgrade(library, null)).toBe(model.id);
    expect(queueInputUpgrade(library, model.id)).toBe(model.id); // handled: not again
    expect(queueInputUpgrade(library, null)).toBe(model.id); // another worker: the queued one stands
    const queued = embedJobs();
    expect(queued.map((j) => [j.state, j.params])).toEqual([['queued', { all: true, reason: 'input-version' }]]);

    const epoch = vectorsEpoch(library.db, model.id);
    const job = await runNextJob(library, { progressMs: 0 });
    expect(job?.state, job?.error ?? '').toBe('succeeded');
    expect(job?.result).toMatchObject({ embedded: IMAGES, failed: [] });
    expect(job?.progress).toMatchObject({
      phase: 're-embed',
      done: IMAGES,
      total: IMAGES,
      message: expect.stringMatching(/preparation changed/),
    });
    expect(vectorsInputVersion(library.db, model.id)).toBe(MODEL_INPUT_VERSION);
    expect(vectorsEpoch(library.db, model.id)).toBe(epoch + 1);
    expect(queueInputUpgrade(library, null)).toBeNull();
    expect(embedJobs()).toHaveLength(1);
  });

  it('a cancelled re-embed leaves the model old: not queued again by the same worker, queued again by the next', async () => {
    clearJobs();
    const model = activeModel(library.db)!;
    asUpgraded(model.id);
    const stop = new AbortController();
    const run = embedMissing(library, { all: true, batchSize: 8, signal: stop.signal, onProgress: () => stop.abort() });
    await expect(run).rejects.toMatchObject({ code: 'cancelled' });
    expect(vectorsInputVersion(library.db, model.id)).toBe(1);
    expect(queueInputUpgrade(library, model.id)).toBe(model.id);
    expect(embedJobs()).toEqual([]);
    expect(queueInputUpgrade(library, null)).toBe(model.id);
    expect(embedJobs()).toHaveLength(1);
    const job = await runNextJob(library, { progressMs: 0 });
    expect(job?.state, job?.error ?? '').toBe('succeeded');
    expect(vectorsInputVersion(library.db, model.id)).toBe(MODEL_INPUT_VERSION);
  });

  it('a model with no vector yet is simply recorded as current', async () => {
    clearJobs();
    const other = await addModel(library, 'empty-16', 16);
    const previous = activeModel(library.db)!;
    activateModel(library.db, other.id);
    try {
      asUpgraded(other.id);
      expect(queueInputUpgrade(library, null)).toBeNull();
      expect(vectorsInputVersion(library.db, other.id)).toBe(MODEL_INPUT_VERSION);
      expect(embedJobs()).toEqual([]);
    } finally {
      activateModel(library.db, previous.id);
    }
  });

  it('a switch to a model embedded the old way re-embeds that one through the same check', async () => {
    clearJobs();
    const first = activeModel(library.db)!;
    const second = await addModel(library, 'second-16', 16);
    asUpgraded(second.id); // registered (and embedded) before the upgrade
    await switchActiveModel(library, second.id, (lib, record) => embedMissing(lib, { model: record }));
    expect(countEmbeddings(library.db, second.id)).toBe(IMAGES);
    expect(queueInputUpgrade(library, first.id)).toBe(second.id);
    expect(embedJobs().map((j) => j.params)).toEqual([{ all: true, reason: 'input-version' }]);
    const job = await runNextJob(library, { progressMs: 0 });
    expect(job?.state, job?.error ?? '').toBe('succeeded');
    expect(vectorsInputVersion(library.db, second.id)).toBe(MODEL_INPUT_VERSION);
  });
});

describe('the worker', () => {
  it('when idle, re-embeds an old active model once (the missing images with it) while search keeps answering', async () => {
    clearJobs();
    const model = activeModel(library.db)!;
    asUpgraded(model.id);
    const missing = library.db.prepare('SELECT max(image_id) FROM embeddings WHERE model_id = ?').pluck().get(model.id) as number;
    library.db.prepare('DELETE FROM embeddings WHERE image_id = ? AND model_id = ?').run(missing, model.id); // raced a switch
    expect((await searchSimilar(library, { imageId: 1 }, { k: 3 })).hits).toHaveLength(3);

    const stop = new AbortController();
    const ran: Job[] = [];
    let idleChecksAfter = 0;
    const loop = runJobs(library, {
      stop: stop.signal,
      remote: null,
      idleMs: 10,
      catchUpMs: 0,
      heartbeatMs: 50,
      onJob: (job) => ran.push(job),
    });
    // Until the job has run, then through many idle checks (catchUpMs 0): none may queue anything again.
    const deadline = Date.now() + 90_000;
    while (idleChecksAfter < 20 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      if (ran.length > 0) idleChecksAfter++;
    }
    stop.abort();
    await loop;
    expect(ran.map((j) => [j.kind, j.state, j.params])).toEqual([['embed', 'succeeded', { all: true, reason: 'input-version' }]]);
    expect(embedJobs()).toHaveLength(1);
    expect(vectorsInputVersion(library.db, model.id)).toBe(MODEL_INPUT_VERSION);
    expect(getEmbedding(library.db, missing, model.id, model.latentSize)).not.toBeNull();
    expect(countImagesWithoutEmbedding(library.db, model.id)).toBe(0);
    expect((await searchSimilar(library, { imageId: 1 }, { k: 3 })).hits).toHaveLength(3);
  });

  it('drops the vectors kept with trashed images: a restored image is embedded again, the current way', async () => {
    clearJobs();
    const model = activeModel(library.db)!;
    asUpgraded(model.id);
    const [victim] = library.db.prepare('SELECT image_id FROM embeddings WHERE model_id = ? LIMIT 1').pluck().all(model.id) as number[];
    const trashed = await moveToTrash(library, [victim!], {});
    expect(trashed).toMatchObject({ trashed: 1 });
    expect(queueInputUpgrade(library, null)).toBe(model.id);
    const job = await runNextJob(library, { progressMs: 0 });
    expect(job?.state, job?.error ?? '').toBe('succeeded');
    const { restored } = restoreFromTrash(library, {});
    expect(restored).toHaveLength(1);
    expect(getEmbedding(library.db, restored[0]!.to, model.id, model.latentSize)).toBeNull();
    expect(queueCatchUp(library, -1)).toBe(1);
  });
});
