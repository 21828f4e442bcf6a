/**
 * Organising a library on real SQLite, real index files and real images: near-duplicate review
 * (the best kept, the rest shown before deleting), deletion to the trash as a job, undo (images
 * back under new ids with labels and vectors, searchable again), emptying the trash (files gone),
 * and outliers paged worst first by reconstruction error and by distance to the cluster centre.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAppError } from '../../lib/errors';
import { cancelJob, queueDeletion, queueJob, runNextJob } from '../../lib/jobs/job-service';
import { outlierPage } from '../../lib/services/anomaly-service';
import { runClustering } from '../../lib/services/cluster-service';
import { byQuality, findNearDuplicates, reviewGroups, reviewScan, type DuplicateOptions } from '../../lib/services/duplicates-service';
import type { ImageRecord } from '../../lib/services/image-service';
import { imageOrThrow, libraryPage } from '../../lib/services/image-service';
import { ingestBytes } from '../../lib/services/ingest-service';
import { originalPath, type Library } from '../../lib/services/library';
import { modelIndex } from '../../lib/services/model-service';
import { emptyTheTrash, restoreFromTrash, trashContents } from '../../lib/services/trash-service';
import { activeModel } from '../../lib/store/models-repo';
import { startWasm } from '../helpers/engine';
import { ingestedLibrary } from '../helpers/library';

let library: Library;
let remove: () => void;
const originals: number[] = [];
const copies: number[] = [];

beforeAll(async () => {
  await startWasm();
  let folder: string;
  ({ library, folder, remove } = await ingestedLibrary(60));
  const picked = library.db.prepare('SELECT id, original_name AS name FROM images ORDER BY id LIMIT 3').all() as {
    id: number;
    name: string;
  }[];
  for (const { id, name } of picked) {
    // Same pixels, a larger file (no compression): "keep the best" keeps the copy.
    const larger = await sharp(readFileSync(join(folder, name)))
      .png({ compressionLevel: 0 })
      .toBuffer();
    const added = await ingestBytes(library, `copy-of-${name}`, larger);
    originals.push(id);
    copies.push(added.ids[0]!);
  }
});
afterAll(() => remove());

const reviewDuplicates = async (options: DuplicateOptions = {}) => reviewGroups(library, await findNearDuplicates(library, options));
const searchable = () => modelIndex(library, activeModel(library.db)!).index.ids();

describe('near-duplicate review', () => {
  it('groups each copy with its original, keeps the largest and says what it would delete', async () => {
    expect(originals.length).toBeGreaterThanOrEqual(2);
    const review = await reviewDuplicates();
    expect(review.fraction).toBeCloseTo(0.05);
    expect(review.threshold).toBeCloseTo(review.fraction * review.reference);
    originals.forEach((original, i) => {
      const group = review.groups.find((g) => g.images.some((image) => image.id === original))!;
      expect(group.images.map((image) => image.id)).toContain(copies[i]);
      expect(group.keep).toBe(copies[i]);
      expect(group.remove).toContain(original);
      expect(group.images[0]!.byteSize).toBeGreaterThan(group.images[1]!.byteSize);
    });
    expect((await reviewDuplicates({ fraction: 0 })).groups.every((g) => g.maxDistance === 0)).toBe(true);
    await expect(reviewDuplicates({ fraction: 2 })).rejects.toThrow(/fraction must be a number from 0 to 1/);
  });

  it('runs as a job with progress, whose groups the review reads back; a cancelled or other job is refused', async () => {
    const queued = queueJob(library, 'duplicates', {});
    const done = await runNextJob(library, { progressMs: 0 });
    expect(done?.id).toBe(queued.id);
    expect(done?.state, done?.error ?? '').toBe('succeeded');
    const images = originals.length + 60;
    expect(done?.progress).toMatchObject({ phase: 'duplicates', done: images, total: images });
    expect(reviewScan(library, done!)).toEqual(await reviewDuplicates());
    expect(() => reviewScan(library, { ...done!, kind: 'trash' })).toThrow(/is a trash job, not a near-duplicate search/);

    const cancelled = queueJob(library, 'duplicates', { fraction: 0.01 });
    cancelJob(library, cancelled.id);
    const after = await runNextJob(library);
    expect(after?.id === cancelled.id ? after.state : 'cancelled before it ran').not.toBe('succeeded');
    expect(() => reviewScan(library, { ...cancelled, state: 'cancelled' })).toThrow(/job \d+\) is cancelled/);
  });

  it('deletes to the trash as one job, undoes it, and empties the trash for good', async () => {
    const job = queueDeletion(library, originals);
    const done = await runNextJob(library);
    expect(done?.id).toBe(job.id);
    expect(done?.state).toBe('succeeded');
    expect(done?.result).toEqual({ trashed: originals.length });
    for (const id of originals) {
      expect(
        isAppError(
          (() => {
            try {
              imageOrThrow(library, id);
            } catch (e) {
              return e;
            }
          })(),
          'not_found',
        ),
      ).toBe(true);
      expect(searchable().has(id)).toBe(false);
    }
    const trash = trashContents(library);
    expect(trash.total).toBe(originals.length);
    expect(trash.images.map((t) => t.jobId)).toEqual(originals.map(() => job.id));
    const labels = new Map(trash.images.map((t) => [t.image.contentHash, t.image.labels]));

    const { restored } = restoreFromTrash(library, { jobId: job.id });
    expect(restored.map((r) => r.from).sort()).toEqual([...originals].sort());
    for (const { from, to } of restored) {
      expect(to).not.toBe(from);
      const back = imageOrThrow(library, to);
      expect(back.labels).toEqual(labels.get(back.contentHash));
      expect(searchable().has(to)).toBe(true);
    }
    expect(trashContents(library).total).toBe(0);
    const review = await reviewDuplicates();
    for (const { to } of restored) expect(review.groups.some((g) => g.remove.includes(to))).toBe(true);

    queueDeletion(
      library,
      restored.map((r) => r.to),
    );
    await runNextJob(library);
    const hashes = trashContents(library).images.map((t) => t.image.contentHash);
    expect(hashes.every((h) => existsSync(originalPath(library.config, h)))).toBe(true);
    expect(await emptyTheTrash(library)).toEqual({ removed: originals.length });
    expect(hashes.some((h) => existsSync(originalPath(library.config, h)))).toBe(false);
    expect(restoreFromTrash(library, {}).restored).toEqual([]);
    expect(libraryPage(library, {}).total).toBe(60 + copies.length - originals.length);
  });
});

it('keep the best: the largest resolution first, then the largest file, then the oldest', () => {
  const image = (id: number, width: number, byteSize: number) => ({ id, width, height: 10, byteSize }) as ImageRecord;
  const sorted = [image(1, 10, 500), image(2, 20, 100), image(3, 10, 900), image(4, 10, 900)].sort(byQuality);
  expect(sorted.map((i) => i.id)).toEqual([2, 3, 4, 1]);
});

describe('outliers', () => {
  it('pages images worst first by reconstruction error, without repeats', async () => {
    const first = await outlierPage(library, { by: 'reconstruction', limit: 10 });
    expect(first.total).toBe(libraryPage(library, {}).total);
    const second = await outlierPage(library, { by: 'reconstruction', limit: 10, after: first.nextCursor! });
    const values = [...first.items, ...second.items].map((i) => i.value);
    expect(values).toEqual([...values].sort((a, b) => b - a));
    const ids = [...first.items, ...second.items].map((i) => i.image.id);
    expect(new Set(ids).size).toBe(20);
  });

  it('ranks by distance to the cluster centre once a clustering exists', async () => {
    await expect(outlierPage(library, { by: 'centre', limit: 5 })).rejects.toThrow(/no clustering of this model yet/);
    const run = await runClustering(library, { k: 3, seed: 1 });
    const page = await outlierPage(library, { by: 'centre', limit: 5 });
    expect(page.runId).toBe(run.id);
    const farthest = library.db
      .prepare('SELECT image_id FROM cluster_assignments WHERE run_id = ? ORDER BY distance DESC, image_id DESC LIMIT 5')
      .pluck()
      .all(run.id);
    expect(page.items.map((i) => i.image.id)).toEqual(farthest);
  });
});
