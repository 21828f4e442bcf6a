/**
 * The HNSW index: near-exact answers, validated inputs, deletions that never come back, and
 * files that are trusted only when they match the store (generation, dimension, integrity).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isAppError } from '../../../lib/errors';
import { errorCode } from '../../helpers/errors';
import { seededRandom } from '../../../lib/random';
import { HnswIndex, indexDataPath } from '../../../lib/vector-index/hnsw-index';
import { exactSearch } from '../../../lib/vectors/distance';

const dir = mkdtempSync(join(tmpdir(), 'latent-atlas-index-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const DIM = 16;
const random = seededRandom(7);
const centres = Array.from({ length: 10 }, () => Float32Array.from({ length: DIM }, () => random() * 10));
const entries = Array.from({ length: 600 }, (_, i) => ({
  id: i + 1,
  vector: Float32Array.from(centres[i % 10]!, (c) => c + random() - 0.5),
}));

function filled(path: string, capacity = 100): HnswIndex {
  const index = HnswIndex.create(path, { dim: DIM, space: 'l2' }, capacity);
  index.add(entries);
  return index;
}

describe('HnswIndex', () => {
  it('grows past its initial capacity and agrees with exact search (recall@10 ≥ 0.98)', () => {
    const index = filled(join(dir, 'a'), 50);
    expect(index.size).toBe(600);
    let found = 0;
    for (const q of entries.slice(0, 50)) {
      const exact = new Set(exactSearch('l2', entries, q.vector, 10).map((n) => n.id));
      found += index.search(q.vector, 10).filter((n) => exact.has(n.id)).length;
    }
    expect(found / 500).toBeGreaterThanOrEqual(0.98);
    expect(index.search(entries[0]!.vector, 1)[0]).toEqual({ id: 1, distance: 0 });
  });

  it('validates k, ef and query vectors before any native call', () => {
    const index = filled(join(dir, 'b'));
    for (const k of [0, -1, 1.5, Number.NaN, 1e9]) expect(errorCode(() => index.search(entries[0]!.vector, k))).toBe('invalid_input');
    expect(errorCode(() => index.search(new Float32Array(DIM - 1), 3))).toBe('invalid_input');
    expect(
      errorCode(() =>
        index.search(
          Float32Array.from({ length: DIM }, (_, i) => (i === 3 ? Number.NaN : 0)),
          3,
        ),
      ),
    ).toBe('invalid_input');
    expect(
      errorCode(() =>
        index.search(
          Float32Array.from({ length: DIM }, () => Infinity),
          3,
        ),
      ),
    ).toBe('invalid_input');
    expect(errorCode(() => index.search(entries[0]!.vector, 3, { ef: 0 }))).toBe('invalid_input');
    expect(errorCode(() => index.add([{ id: 9999, vector: new Float32Array(3) }]))).toBe('invalid_input');
  });

  it('returns what exists when k exceeds the count, and nothing from an empty index', () => {
    const index = HnswIndex.create(join(dir, 'c'), { dim: DIM, space: 'l2' });
    expect(index.search(entries[0]!.vector, 5)).toEqual([]);
    index.add(entries.slice(0, 3));
    expect(
      index
        .search(entries[0]!.vector, 50)
        .map((n) => n.id)
        .sort(),
    ).toEqual([1, 2, 3]);
  });

  it('deleted ids never come back, in results or by re-adding, across save and load', () => {
    const path = join(dir, 'd');
    const index = filled(path);
    index.remove([1, 2]);
    expect(index.search(entries[0]!.vector, 600).map((n) => n.id)).not.toContain(1);
    expect(index.size).toBe(598);
    expect(errorCode(() => index.add([entries[0]!]))).toBe('conflict');
    index.save(7);
    const { index: loaded, stale } = HnswIndex.load(path, { dim: DIM, space: 'l2' }, 7);
    expect(stale).toBe(false);
    expect(loaded!.size).toBe(598);
    expect(loaded!.search(entries[0]!.vector, 600).map((n) => n.id)).not.toContain(1);
    expect(errorCode(() => loaded!.add([entries[1]!]))).toBe('conflict');
  });

  it('is trusted only when its files match: missing, corrupt, truncated, other dimension, stale', () => {
    const path = join(dir, 'e');
    const opts = { dim: DIM, space: 'l2' as const };
    expect(HnswIndex.load(path, opts, 1).reason).toBe('index file missing');
    filled(path).save(3);
    expect(HnswIndex.load(path, opts, 3).index).not.toBeNull();
    expect(HnswIndex.load(path, opts, 4)).toMatchObject({ stale: true });
    expect(HnswIndex.load(path, { dim: 8, space: 'l2' }, 3).reason).toMatch(/dimension 16 differs from the model's 8/);
    expect(HnswIndex.load(path, { dim: DIM, space: 'cosine' }, 3).reason).toMatch(/space/);
    const data = indexDataPath(path)!;
    const bytes = readFileSync(data);
    writeFileSync(data, bytes.subarray(0, bytes.length - 100));
    expect(HnswIndex.load(path, opts, 3).index).toBeNull();
    const garbage = Buffer.alloc(bytes.length, 0xff);
    writeFileSync(data, garbage);
    expect(HnswIndex.load(path, opts, 3).index).toBeNull();
    writeFileSync(`${path}.json`, '{not json');
    expect(HnswIndex.load(path, opts, 3).reason).toBe('index metadata unreadable');
  });

  it('commits a save with one rename: killed before it, the previous index stays whole', () => {
    const path = join(dir, 'commit');
    const opts = { dim: DIM, space: 'l2' as const };
    const index = filled(path);
    index.save(1);
    const first = indexDataPath(path)!;
    // A writer killed after its data file and before its metadata: a newer data file, no commit.
    const killed = join(dir, `commit.2-${2 ** 22 + 99}-zz.hnsw`); // above Linux's largest pid: never running
    writeFileSync(killed, readFileSync(first).subarray(0, 1000));
    const loaded = HnswIndex.load(path, opts, 1);
    expect(loaded).toMatchObject({ stale: false, reason: null });
    expect(loaded.index!.size).toBe(index.size);
    // The next save commits a new file and removes the earlier ones (not other indexes' files).
    const other = filled(join(dir, 'commit-other'));
    other.save(1);
    utimesSync(killed, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    index.remove([1]);
    index.save(2);
    const second = indexDataPath(path)!;
    expect(second).not.toBe(first);
    expect(existsSync(first)).toBe(false);
    expect(existsSync(killed)).toBe(false);
    expect(existsSync(indexDataPath(join(dir, 'commit-other'))!)).toBe(true);
    // A recent file of a process that still runs may be its save under way: kept.
    const underWay = join(dir, `commit.3-${process.ppid}-zz.hnsw`);
    writeFileSync(underWay, 'partial');
    index.save(3);
    expect(existsSync(underWay)).toBe(true);
    rmSync(underWay);
    const third = indexDataPath(path)!;
    expect(existsSync(second)).toBe(false);
    expect(
      readdirSync(dir)
        .filter((f) => f.startsWith('commit.'))
        .sort(),
    ).toEqual([basename(third), 'commit.json'].sort());
    expect(HnswIndex.load(path, opts, 3).index!.ids().has(1)).toBe(false);
  });

  it('still loads an index saved in format 1 (data in <name>.hnsw), and a save moves it to format 2', () => {
    const path = join(dir, 'legacy');
    const opts = { dim: DIM, space: 'l2' as const };
    const index = filled(path);
    index.save(5);
    const meta = JSON.parse(readFileSync(`${path}.json`, 'utf8')) as Record<string, unknown>;
    renameSync(indexDataPath(path)!, `${path}.hnsw`);
    writeFileSync(`${path}.json`, JSON.stringify({ ...meta, version: 1, file: undefined }));
    const loaded = HnswIndex.load(path, opts, 5).index!;
    expect(loaded.size).toBe(index.size);
    utimesSync(`${path}.hnsw`, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    loaded.save(6);
    expect(existsSync(`${path}.hnsw`)).toBe(false);
    expect(HnswIndex.load(path, opts, 6)).toMatchObject({ stale: false, reason: null });
  });
});

describe('HnswIndex rebuilt in batches', () => {
  const many = Array.from({ length: 2500 }, (_, i) => ({
    id: i + 1,
    vector: Float32Array.from(centres[i % 10]!, (c) => c + random() - 0.5),
  }));

  it('reports progress batch by batch up to the total and answers as a one-go rebuild does', async () => {
    const index = HnswIndex.create(join(dir, 'batches'), { dim: DIM, space: 'l2' }, 10);
    const seen: [number, number][] = [];
    await index.rebuildInBatches(many, many.length, { onProgress: (done, total) => seen.push([done, total]) });
    expect(seen.map(([done]) => done)).toEqual([1024, 2048, 2500]);
    expect(seen.every(([, total]) => total === 2500)).toBe(true);
    expect(index.size).toBe(2500);
    const once = HnswIndex.create(join(dir, 'once'), { dim: DIM, space: 'l2' }, 10);
    once.rebuild(many, many.length);
    const query = many[1234]!.vector;
    expect(index.search(query, 5).map((n) => n.id)).toEqual(once.search(query, 5).map((n) => n.id));
  });

  it('stops when cancelled between batches, keeping the index it had', async () => {
    const index = filled(join(dir, 'cancel'));
    const before = index.search(entries[0]!.vector, 3);
    const stop = new AbortController();
    const rebuilding = index.rebuildInBatches(many, many.length, { signal: stop.signal, onProgress: () => stop.abort() });
    await expect(rebuilding).rejects.toSatisfy((e) => isAppError(e, 'cancelled'));
    expect(index.size).toBe(entries.length);
    expect(index.search(entries[0]!.vector, 3)).toEqual(before);
  });

  it('lets timers run between batches (how a job learns it was cancelled)', async () => {
    const index = HnswIndex.create(join(dir, 'timers'), { dim: DIM, space: 'l2' }, 10);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    let doneAtFirstTick = -1;
    await index.rebuildInBatches(many, many.length, {
      onProgress: (done) => {
        if (ticks > 0 && doneAtFirstTick < 0) doneAtFirstTick = done;
      },
    });
    clearInterval(timer);
    expect(doneAtFirstTick).toBeGreaterThan(0);
    expect(doneAtFirstTick).toBeLessThan(2500);
  });
});
