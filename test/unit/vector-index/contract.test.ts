/**
 * The VectorIndex contract: the same cases run against every registered backend (today hnsw), so a
 * new one (a distributed store) is accepted only when it behaves as the services expect — exact
 * order on well-separated points, removals that never come back, a save that reopens whole and
 * stamped with its generation, a snapshot elsewhere that searches alike, rebuilds that replace (and, cancelled, keep) the contents, and
 * dimension mismatches refused with AppError('invalid_input').
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { errorCode } from '../../helpers/errors';
import { VECTOR_INDEX_BACKENDS, vectorIndexBackend } from '../../../lib/vector-index/backends';
import type { IndexEntry } from '../../../lib/vector-index/vector-index';

const dir = mkdtempSync(join(tmpdir(), 'latent-atlas-contract-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const DIM = 4;
/** Points on a line, 1 apart: the order of neighbours from any point is known exactly. */
const line: IndexEntry[] = Array.from({ length: 20 }, (_, i) => ({ id: 100 + i, vector: Float32Array.of(i, 0, 0, 0) }));
const at = (x: number) => Float32Array.of(x, 0, 0, 0);
const ids = (hits: { id: number }[]) => hits.map((h) => h.id);

it('lists hnsw and refuses an unknown backend with the valid names', () => {
  expect(Object.keys(VECTOR_INDEX_BACKENDS)).toContain('hnsw');
  expect(() => vectorIndexBackend('qdrant')).toThrow(/expected one of: hnsw/);
});

describe.each(Object.keys(VECTOR_INDEX_BACKENDS))('VectorIndex contract: %s', (name) => {
  const backend = vectorIndexBackend(name);
  let n = 0;
  const path = () => join(dir, `${name}-${n++}`);
  const filled = (p = path()) => {
    const index = backend.create(p, { dim: DIM, space: 'l2' }, 8);
    index.add(line);
    return index;
  };

  it('adds past its capacity and answers in order of distance, with exact distances', () => {
    const index = filled();
    expect(index.size).toBe(20);
    expect(index.ids()).toEqual(new Set(line.map((e) => e.id)));
    const hits = index.search(at(5.2), 5);
    expect(ids(hits)).toEqual([105, 106, 104, 107, 103]);
    const squared = [0.04, 0.64, 1.44, 3.24, 4.84];
    hits.forEach((h, i) => expect(h.distance).toBeCloseTo(squared[i]!, 4));
    expect(index.dim).toBe(DIM);
    expect(index.space).toBe('l2');
  });

  it('returns fewer than k when it holds fewer, and nothing when empty', () => {
    const index = backend.create(path(), { dim: DIM, space: 'l2' });
    expect(index.search(at(0), 3)).toEqual([]);
    index.add(line.slice(0, 2));
    expect(ids(index.search(at(0), 10))).toEqual([100, 101]);
  });

  it('removes ids for good: never in results again, and adding one back is a conflict', () => {
    const index = filled();
    index.remove([105, 106, 999]);
    expect(index.size).toBe(18);
    expect(index.ids().has(105)).toBe(false);
    expect(ids(index.search(at(5.4), 3))).toEqual([104, 107, 103]);
    expect(errorCode(() => index.add([{ id: 105, vector: at(5) }]))).toBe('conflict');
  });

  it('refuses vectors and queries of another dimension, and bad k', () => {
    const index = filled();
    expect(errorCode(() => index.add([{ id: 1, vector: new Float32Array(DIM + 1) }]))).toBe('invalid_input');
    expect(errorCode(() => index.search(new Float32Array(DIM - 1), 3))).toBe('invalid_input');
    expect(errorCode(() => index.search(Float32Array.of(0, Number.NaN, 0, 0), 3))).toBe('invalid_input');
    expect(errorCode(() => index.search(at(0), 0))).toBe('invalid_input');
    expect(index.size).toBe(20);
  });

  it('saves and reopens the same contents, stale under another generation, refused at another dimension', () => {
    const p = path();
    const index = filled(p);
    index.remove([110]);
    index.save(7);
    const reopened = backend.open(p, { dim: DIM, space: 'l2' }, 7);
    expect(reopened.stale).toBe(false);
    expect(reopened.reason).toBeNull();
    expect(reopened.index!.ids()).toEqual(index.ids());
    expect(ids(reopened.index!.search(at(10), 3))).toEqual(ids(index.search(at(10), 3)));
    expect(ids(reopened.index!.search(at(10), 2))).toEqual([109, 111]);
    const stale = backend.open(p, { dim: DIM, space: 'l2' }, 8);
    expect(stale.stale).toBe(true);
    expect(stale.index!.size).toBe(19);
    const other = backend.open(p, { dim: DIM + 1, space: 'l2' }, 7);
    expect(other.index).toBeNull();
    expect(other.reason).toMatch(/dimension/);
    const missing = backend.open(path(), { dim: DIM, space: 'l2' }, 7);
    expect(missing.index).toBeNull();
    expect(missing.reason).toMatch(/missing/);
  });

  it('writes a snapshot elsewhere that opens whole and answers every search as the index does, its own files untouched', () => {
    const p = path();
    const index = filled(p);
    index.save(3);
    index.remove([104]);
    const copy = join(mkdtempSync(join(dir, 'snapshot-')), 'index');
    const files = index.snapshot(copy, 4);
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) expect(existsSync(join(dirname(copy), file))).toBe(true);
    const opened = backend.open(copy, { dim: DIM, space: 'l2' }, 4);
    expect(opened.stale).toBe(false);
    expect(opened.index!.ids()).toEqual(index.ids());
    for (let x = -1; x <= 20; x += 0.7) expect(opened.index!.search(at(x), 6, { ef: 8 })).toEqual(index.search(at(x), 6, { ef: 8 }));
    expect(backend.open(p, { dim: DIM, space: 'l2' }, 3).index!.size).toBe(20); // the saved index is as it was
  });

  it('rebuilds to exactly the given entries (removed ids allowed again), in one go or in batches', async () => {
    const index = filled();
    index.remove([100]);
    const next = line.slice(0, 5);
    index.rebuild(next, next.length);
    expect(index.ids()).toEqual(new Set([100, 101, 102, 103, 104]));
    expect(ids(index.search(at(19), 2))).toEqual([104, 103]);
    const seen: number[] = [];
    await index.rebuildInBatches(line, line.length, { onProgress: (done) => seen.push(done) });
    expect(index.size).toBe(20);
    expect(seen.at(-1)).toBe(20);
  });

  it('keeps its contents when a batched rebuild is cancelled', async () => {
    const index = filled();
    const stop = new AbortController();
    stop.abort();
    await expect(index.rebuildInBatches(line.slice(0, 3), 3, { signal: stop.signal })).rejects.toMatchObject({ code: 'cancelled' });
    expect(index.size).toBe(20);
    expect(ids(index.search(at(0), 1))).toEqual([100]);
  });
});
