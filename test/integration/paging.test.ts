/**
 * Keyset pages on a real SQLite file: the library listing (newest first) and a cluster's members
 * (nearest first) walked page by page cover every live row exactly once, in order, whatever the
 * filters, ties and deletions — and the last page says so with a null cursor.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clusterPage, memberCursorSchema } from '../../lib/services/cluster-service';
import type { Library } from '../../lib/services/library';
import { parseConfig } from '../../lib/config';
import { openLibrary } from '../../lib/services/library';
import { clusterMemberPage, insertClusterRun, type MemberCursor } from '../../lib/store/clusters-repo';
import { deleteImage, insertImage, labelCounts, listImages, setImageLabels, type ImageQuery } from '../../lib/store/images-repo';
import { readMapColumns, replaceMap } from '../../lib/store/maps-repo';
import { registerModel } from '../../lib/store/models-repo';
import { MODEL_INPUT_VERSION } from '../../lib/images/image-decoder';
import { liveCount } from '../../lib/store/database';

let dir: string;
let library: Library;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'latent-atlas-paging-'));
  library = openLibrary(parseConfig({ LATENT_ATLAS_DATA_DIR: dir }));
});
afterEach(() => {
  library.close();
  rmSync(dir, { recursive: true, force: true });
});

function addImages(count: number): number[] {
  return Array.from({ length: count }, (_, i) =>
    insertImage(library.db, {
      contentHash: createHash('sha256').update(`image ${i}`).digest('hex'),
      originalName: `${i}.png`,
      format: 'png',
      byteSize: 100,
      width: 28,
      height: 28,
      modality: i % 3 === 0 ? 'xray' : 'photo',
      labels: [i % 2 === 0 ? 'even' : 'odd'],
    }),
  );
}

/** Every page of the listing from the first, by following nextCursor. */
function walkListing(query: Omit<ImageQuery, 'before'>): { pages: number[][]; totals: number[] } {
  const pages: number[][] = [];
  const totals: number[] = [];
  let before: number | undefined;
  for (;;) {
    const page = listImages(library.db, { ...query, ...(before ? { before } : {}) });
    pages.push(page.images.map((i) => i.id));
    totals.push(page.total);
    if (page.nextCursor === null) return { pages, totals };
    before = page.nextCursor;
  }
}

describe('keyset pages of the library', () => {
  it('walks every image once, newest first, in full pages and a shorter last one', () => {
    const ids = addImages(25);
    const { pages, totals } = walkListing({ limit: 10 });
    expect(pages.map((p) => p.length)).toEqual([10, 10, 5]);
    expect(pages.flat()).toEqual([...ids].reverse());
    expect(totals).toEqual([25, 25, 25]);
  });

  it('gives a null cursor when the last page is exactly full', () => {
    addImages(20);
    expect(walkListing({ limit: 10 }).pages.map((p) => p.length)).toEqual([10, 10]);
  });

  it('keeps the filters across pages and leaves deleted images out', () => {
    const ids = addImages(30);
    for (const id of ids.slice(0, 6)) deleteImage(library.db, id);
    const live = ids.slice(6);
    const xrays = live.filter((_, i) => (i + 6) % 3 === 0).reverse();
    const walked = walkListing({ limit: 4, modality: 'xray' });
    expect(walked.pages.flat()).toEqual(xrays);
    expect(walked.totals[0]).toBe(xrays.length);
    const even = live.filter((_, i) => (i + 6) % 2 === 0).reverse();
    expect(walkListing({ limit: 5, label: 'even' }).pages.flat()).toEqual(even);
  });

  it('counts labels as they are added, changed and deleted, and pages a label with a modality', () => {
    const ids = addImages(9); // labels even/odd by position; xray every third
    expect(labelCounts(library.db)).toEqual([
      { label: 'even', count: 5 },
      { label: 'odd', count: 4 },
    ]);
    setImageLabels(library.db, ids[0]!, ['odd', 'new']);
    deleteImage(library.db, ids[1]!);
    expect(labelCounts(library.db)).toEqual([
      { label: 'even', count: 4 },
      { label: 'odd', count: 4 },
      { label: 'new', count: 1 },
    ]);
    setImageLabels(library.db, ids[0]!, []);
    expect(labelCounts(library.db).map((l) => l.label)).toEqual(['even', 'odd']);
    const page = listImages(library.db, { label: 'odd', modality: 'xray', limit: 1 });
    expect(page.total).toBe(1);
    expect(page.images.map((i) => i.id)).toEqual([ids[3]]);
    expect(page.nextCursor).toBeNull();
    expect(listImages(library.db, { label: 'none' })).toEqual({ images: [], total: 0, nextCursor: null });
  });

  it('is not shifted by images added while paging (OFFSET would repeat one)', () => {
    const ids = addImages(12);
    const first = listImages(library.db, { limit: 5 });
    insertImage(library.db, {
      contentHash: createHash('sha256').update('late').digest('hex'),
      originalName: 'late.png',
      format: 'png',
      byteSize: 1,
      width: 1,
      height: 1,
      modality: 'photo',
    });
    const second = listImages(library.db, { limit: 5, before: first.nextCursor! });
    expect(second.images.map((i) => i.id)).toEqual([...ids].reverse().slice(5, 10));
  });
});

describe('keyset pages of a cluster', () => {
  function run(distances: number[]) {
    const ids = addImages(distances.length);
    const model = registerModel(library.db, { name: 'm', dir: '/nowhere', spec: {}, latentSize: 2, inputVersion: MODEL_INPUT_VERSION });
    const stored = insertClusterRun(
      library.db,
      {
        modelId: model.id,
        params: { k: 2, seed: 0, restarts: 1, auto: false, umap: false },
        result: {
          clusters: [0, 1].map((cluster) => ({
            cluster,
            name: null,
            size: 0,
            centroid: [0, 0],
            spread: 0,
            representatives: [],
            outliers: cluster === 0 ? [ids[0]!] : [],
          })),
          inertia: 0,
          iterations: 1,
        },
      },
      ids.map((imageId, i) => ({ imageId, cluster: i % 4 === 3 ? 1 : 0, distance: distances[i]! })),
    );
    return { ids, runId: stored.id };
  }

  it('walks a cluster nearest first, ties in id order, each member once', () => {
    // Many ties: the cursor must carry the id as well as the distance.
    const distances = Array.from({ length: 40 }, (_, i) => [0.5, 0.25, 1e-7, 0.25][i % 4]!);
    const { ids, runId } = run(distances);
    const expected = ids
      .map((id, i) => ({ id, d: distances[i]!, c: i % 4 === 3 ? 1 : 0 }))
      .filter((m) => m.c === 0)
      .sort((a, b) => a.d - b.d || a.id - b.id)
      .map((m) => m.id);
    const seen: number[] = [];
    let after: MemberCursor | undefined;
    for (let pages = 0; ; pages++) {
      const page = clusterMemberPage(library.db, runId, 0, { limit: 7, ...(after ? { after } : {}) });
      expect(page.total).toBe(30);
      seen.push(...page.members.map((m) => m.imageId));
      if (!page.nextCursor) break;
      after = page.nextCursor;
      expect(pages).toBeLessThan(10);
    }
    expect(seen).toEqual(expected);
  });

  it('round-trips its cursor through the API text form and leaves deleted members out', () => {
    const distances = Array.from({ length: 24 }, (_, i) => (i * 0.1) / 3);
    const { ids, runId } = run(distances);
    deleteImage(library.db, ids[4]!);
    const first = clusterPage(library, runId, 0, { limit: 5 });
    expect(first.total).toBe(17);
    expect(first.outliers.map((o) => o.id)).toEqual([ids[0]]);
    const after = memberCursorSchema.parse(first.nextCursor);
    const rest = clusterPage(library, runId, 0, { limit: 100, after });
    expect(rest.nextCursor).toBeNull();
    const walked = [...first.members, ...rest.members].map((m) => m.id);
    expect(walked).toEqual(ids.filter((_, i) => i % 4 !== 3 && i !== 4));
    expect(() => memberCursorSchema.parse('1; DROP TABLE images')).toThrow();
  });

  it('counts live members from the deleted images (liveCount) as a join with images does', () => {
    const { ids, runId } = run(Array.from({ length: 30 }, (_, i) => i / 30));
    for (const i of [0, 3, 7, 8, 29]) deleteImage(library.db, ids[i]!);
    const joined = (where: string, ...params: number[]) =>
      library.db
        .prepare(`SELECT count(*) FROM cluster_assignments a JOIN images i ON i.id = a.image_id WHERE ${where} AND i.deleted_at IS NULL`)
        .pluck()
        .get(...params) as number;
    for (const cluster of [0, 1]) {
      const where = 'a.run_id = ? AND a.cluster = ?';
      expect(liveCount(library.db, 'cluster_assignments', 'a', where, runId, cluster)).toBe(joined(where, runId, cluster));
    }
    // 30 members, 5 deleted: 3 of cluster 0 (0, 8, 29 — every fourth from 3 is cluster 1) and 2 of cluster 1 (3, 7).
    expect(liveCount(library.db, 'cluster_assignments', 'a', 'a.run_id = ?', runId)).toBe(25);
    expect(clusterMemberPage(library.db, runId, 1, { limit: 100 }).total).toBe(7 - 2);
  });
});

describe('the map read in chunks', () => {
  it('reads every live point in id order across chunks, and leaves out images deleted while it reads', async () => {
    const ids = library.db.transaction(() => addImages(40_000))();
    const model = registerModel(library.db, { name: 'm', dir: '/nowhere', spec: {}, latentSize: 2, inputVersion: MODEL_INPUT_VERSION });
    replaceMap(
      library.db,
      model.id,
      'pca',
      ids.map((imageId, i) => ({ imageId, x: i, y: -i })),
    );
    deleteImage(library.db, ids[5]!);

    // The first chunk is read before the first yield; the deletes land between chunks.
    const reading = readMapColumns(library.db, model.id, 'pca', null);
    const late = ids.slice(30_000, 30_010);
    for (const id of late) deleteImage(library.db, id);
    const columns = await reading;

    const expected = ids.filter((id) => id !== ids[5] && !late.includes(id));
    expect(columns.ids.length).toBe(expected.length);
    expect(Array.from(columns.ids)).toEqual(expected);
    const at = expected.indexOf(ids[39_999]!);
    expect([columns.xy[2 * at], columns.xy[2 * at + 1]]).toEqual([39_999, -39_999]);
    expect(columns.labels.sort()).toEqual(['even', 'odd']);
  });
});
