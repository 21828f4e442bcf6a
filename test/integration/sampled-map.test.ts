/**
 * The map at scale on a small real library (SQLite, index, umap-js): UMAP of a sample with the
 * rest placed among their nearest sampled neighbours keeps the groups apart, reports both phases
 * and can be cancelled; the browser's binary columns carry the same points, clusters and labels
 * as the JSON, in a fifth of the bytes.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { placeByNeighbors, sampleIndices } from '../../lib/clustering/sampled-map';
import { parseConfig } from '../../lib/config';
import { isAppError } from '../../lib/errors';
import { seededRandom } from '../../lib/random';
import { runClustering } from '../../lib/services/cluster-service';
import { openLibrary, type Library } from '../../lib/services/library';
import { decodeMap, encodeMap } from '../../lib/services/map-format';
import { computeMap, mapForBrowser, storedMap } from '../../lib/services/map-service';
import { putEmbedding } from '../../lib/store/embeddings-repo';
import { deleteImage, insertImage } from '../../lib/store/images-repo';
import { activateModel, registerModel } from '../../lib/store/models-repo';
import { MODEL_INPUT_VERSION } from '../../lib/images/image-decoder';
import { startWasm } from '../helpers/engine';

const DIM = 8;
const GROUPS = 3;
const N = 900;
let dir: string;
let library: Library;
const group = (id: number) => (id - 1) % GROUPS;

beforeAll(async () => {
  await startWasm();
  dir = mkdtempSync(join(tmpdir(), 'latent-atlas-map-'));
  library = openLibrary(parseConfig({ LATENT_ATLAS_DATA_DIR: dir }));
  const model = registerModel(library.db, { name: 'm', dir: '/nowhere', spec: {}, latentSize: DIM, inputVersion: MODEL_INPUT_VERSION });
  activateModel(library.db, model.id);
  const random = seededRandom(4);
  const centres = Array.from({ length: GROUPS }, (_, g) => Float32Array.from({ length: DIM }, (_, j) => (j === g ? 20 : 0)));
  for (let i = 0; i < N; i++) {
    const id = insertImage(library.db, {
      contentHash: createHash('sha256').update(`m${i}`).digest('hex'),
      originalName: null,
      format: 'png',
      byteSize: 1,
      width: 1,
      height: 1,
      modality: 'photo',
      labels: i % 7 === 0 ? [] : [`group ${i % GROUPS}`],
    });
    putEmbedding(
      library.db,
      id,
      model.id,
      Float32Array.from(centres[i % GROUPS]!, (c) => c + random() * 2 - 1),
    );
  }
});
afterAll(() => {
  library.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('a sampled UMAP map', () => {
  it('maps a sample, places the rest among their neighbours, and keeps the groups apart', async () => {
    const phases: string[] = [];
    let placed = 0;
    const points = await computeMap(library, 'umap', {
      seed: 1,
      sample: 200,
      onProgress: (done, total, phase) => {
        if (phases.at(-1) !== phase) phases.push(phase);
        if (phase === 'place') placed = done;
        expect(done).toBeLessThanOrEqual(total);
      },
    });
    expect(phases).toEqual(['umap', 'place']);
    expect(placed).toBe(N);
    expect(points).toHaveLength(N);
    expect(points.every((p) => Number.isFinite(p.x) && Number.isFinite(p.y))).toBe(true);
    // Every point lies nearer its own group's centre on the map than any other group's.
    const centre = Array.from({ length: GROUPS }, (_, g) => {
      const own = points.filter((p) => group(p.imageId) === g);
      return [own.reduce((s, p) => s + p.x, 0) / own.length, own.reduce((s, p) => s + p.y, 0) / own.length] as const;
    });
    const nearest = (p: { x: number; y: number }) =>
      centre.reduce(
        (best, c, g) => ((p.x - c[0]) ** 2 + (p.y - c[1]) ** 2 < (p.x - centre[best]![0]) ** 2 + (p.y - centre[best]![1]) ** 2 ? g : best),
        0,
      );
    expect(points.filter((p) => nearest(p) === group(p.imageId)).length).toBe(N);
    expect(storedMap(library, 'umap')).toHaveLength(N);
  });

  it('stops when cancelled while placing, storing nothing', async () => {
    const before = storedMap(library, 'umap');
    const stop = new AbortController();
    const mapping = computeMap(library, 'umap', {
      sample: 200,
      signal: stop.signal,
      onProgress: (_d, _t, phase) => phase === 'place' && stop.abort(),
    });
    await expect(mapping).rejects.toSatisfy((e) => isAppError(e, 'cancelled'));
    expect(storedMap(library, 'umap')).toEqual(before);
  });

  it('places a point at the inverse-distance mean of its neighbours, and on top of one at distance 0', () => {
    const xy = Float32Array.from([0, 0, 10, 0, 0, 10]);
    const out = new Float32Array(4);
    placeByNeighbors(xy, [0, 1], [1, 1], out, 0);
    expect([out[0], out[1]]).toEqual([5, 0]);
    placeByNeighbors(xy, [1, 2], [0, 3], out, 1);
    expect(out[2]).toBeCloseTo(10, 3);
    expect(out[3]).toBeCloseTo(0, 3);
    expect(() => placeByNeighbors(xy, [], [], out, 0)).toThrow();
    const picked = sampleIndices(100, 30, 5);
    expect(new Set(picked).size).toBe(30);
    expect([...picked]).toEqual([...picked].sort((a, b) => a - b));
    expect(sampleIndices(100, 30, 5)).toEqual(picked);
  });
});

describe('the map for the browser', () => {
  it('carries the same points, clusters and labels in binary as in objects, live images only', async () => {
    await computeMap(library, 'pca');
    const run = await runClustering(library, { k: GROUPS, seed: 1 });
    deleteImage(library.db, 5);
    const map = (await mapForBrowser(library, 'pca', run.id))!;
    expect(map.stale).toBe(false);
    const body = encodeMap(map.columns, { method: 'pca', stale: map.stale });
    const decoded = decodeMap(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength) as ArrayBuffer);
    expect(decoded.header).toMatchObject({ method: 'pca', stale: false, count: N - 1 });
    const stored = storedMap(library, 'pca');
    expect(Array.from(decoded.ids)).toEqual(stored.map((p) => p.imageId));
    expect(decoded.ids.includes(5)).toBe(false);
    stored.forEach((p, i) => {
      expect(decoded.xy[2 * i]).toBeCloseTo(p.x, 4);
      expect(decoded.xy[2 * i + 1]).toBeCloseTo(p.y, 4);
    });
    // One cluster per group (they are far apart), and the first label or none.
    const clusterOfGroup = new Map<number, number>();
    decoded.ids.forEach((id, i) => {
      const c = decoded.cluster[i]!;
      expect(clusterOfGroup.get(group(id)) ?? c).toBe(c);
      clusterOfGroup.set(group(id), c);
      const label = decoded.label[i]! < 0 ? null : decoded.labels[decoded.label[i]!];
      expect(label).toBe((id - 1) % 7 === 0 ? null : `group ${group(id)}`);
    });
    expect(new Set(clusterOfGroup.values()).size).toBe(GROUPS);
    const asJson = JSON.stringify(
      Array.from(decoded.ids, (id, i) => ({
        id,
        x: decoded.xy[2 * i],
        y: decoded.xy[2 * i + 1],
        cluster: decoded.cluster[i],
        label: decoded.labels[decoded.label[i]!] ?? null,
      })),
    );
    expect(body.byteLength).toBeLessThan(asJson.length / 3);
    // Without a run, no point has a cluster.
    expect(Array.from((await mapForBrowser(library, 'pca', null))!.columns.cluster).every((c) => c === -1)).toBe(true);
    expect(() => decodeMap(new ArrayBuffer(12))).toThrow(/not a Latent Atlas map/);
  });
});
