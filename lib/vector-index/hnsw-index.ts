/**
 * The HNSW index (hnswlib-node; this folder alone imports it) behind the VectorIndex interface.
 * Files: `<name>.json` (dimension, space, generation of the store it reflects, parameters, the
 * data file's name and byte size) and that data file, `<name>.<generation>-<pid>-<stamp>.hnsw`, a
 * new name on every save. A save writes the data file, then renames the metadata into place —
 * the one commit point: killed before it, the previous index stays whole; after it, the new one
 * is. Then it removes the data files of earlier saves. Every file is written atomically and
 * durably (lib/durable-file: temp file, fsync, rename, folder fsync). `openHnswIndex` rebuilds
 * from the store when a file is missing, unreadable, of another dimension or space, or stale —
 * the index is a cache, never the truth.
 * (Format 1 kept the data in `<name>.hnsw`, renamed separately; it still loads.)
 */
import { existsSync, readdirSync, readFileSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import hnswlib from 'hnswlib-node';
import { z } from 'zod';
import { writeFileDurableSync } from '../durable-file';
import { AppError } from '../errors';
import { processRunningSince } from '../processes';
import { checkK, checkVector, type DistanceSpace, type Neighbor } from '../vectors/distance';
import type { IndexEntry, OpenedVectorIndex, RebuildOptions, VectorIndex, VectorIndexBackend, VectorIndexOptions } from './vector-index';

const { HierarchicalNSW } = hnswlib;

/** Chosen by measurement (bench:search --vectors fashion): see HnswOptions. */
const DEFAULT_EF_CONSTRUCTION = 100;
const DEFAULT_EF_SEARCH = 64;

export interface HnswOptions extends VectorIndexOptions {
  /** Graph degree: higher = better recall and more memory. Default 16 (8 and 12 saved no build time here and lost recall at small ef). */
  m?: number;
  /**
   * Build-time candidate list: higher = better graph, slower adds. Default 100: on 100,000 real
   * 64-d codes it built in 46 % of the CPU time of 200 for the same recall@10 (1.000 at ef 64;
   * docs/sizing.md).
   */
  efConstruction?: number;
  /** Query-time candidate list (at least k): higher = better recall, slower queries. Default 64 (recall@10 1.000 vs 0.998 at 32). */
  efSearch?: number;
}

const metaSchema = z.object({
  format: z.literal('latent-atlas-hnsw'),
  version: z.union([z.literal(1), z.literal(2)]),
  /** Format 2: the data file, beside the metadata (format 1: `<name>.hnsw`). */
  file: z
    .string()
    .regex(/^[^/\\]+\.hnsw$/)
    .optional(),
  dim: z.number().int(),
  space: z.enum(['cosine', 'l2']),
  m: z.number().int(),
  efConstruction: z.number().int(),
  generation: z.number().int(),
  count: z.number().int(),
  bytes: z.number().int(),
  /** Ids marked deleted: hnswlib keeps their labels, so they are remembered here. */
  deleted: z.array(z.number().int()),
});
type Meta = z.infer<typeof metaSchema>;

/** The data file that `meta`, saved at `<path>.json`, commits to. */
function dataPathOf(path: string, meta: Meta): string {
  return meta.file ? join(dirname(path), meta.file) : `${path}.hnsw`;
}

/** The data file the metadata at `<path>.json` commits to, or null when there is no readable metadata. */
export function indexDataPath(path: string): string | null {
  try {
    return dataPathOf(path, metaSchema.parse(JSON.parse(readFileSync(`${path}.json`, 'utf8'))));
  } catch {
    return null;
  }
}

/** A data file of another live process written this recently may be a save about to commit. */
const SAVE_WINDOW_MS = 10 * 60_000;

export class HnswIndex implements VectorIndex {
  readonly dim: number;
  readonly space: DistanceSpace;
  private index: hnswlib.HierarchicalNSW;
  private live = new Set<number>();
  private readonly deleted = new Set<number>();
  private readonly m: number;
  private readonly efConstruction: number;
  private readonly efSearch: number;

  private constructor(
    private readonly path: string,
    options: HnswOptions,
    index: hnswlib.HierarchicalNSW,
    live: Set<number>,
  ) {
    this.dim = options.dim;
    this.space = options.space;
    this.m = options.m ?? 16;
    this.efConstruction = options.efConstruction ?? DEFAULT_EF_CONSTRUCTION;
    this.efSearch = options.efSearch ?? DEFAULT_EF_SEARCH;
    this.index = index;
    this.live = live;
  }

  /** An empty index at `path` (nothing written until `save`). */
  static create(path: string, options: HnswOptions, capacity = 1024): HnswIndex {
    const index = new HierarchicalNSW(options.space, options.dim);
    index.initIndex({
      maxElements: Math.max(16, capacity),
      m: options.m ?? 16,
      efConstruction: options.efConstruction ?? DEFAULT_EF_CONSTRUCTION,
      randomSeed: 100,
    });
    return new HnswIndex(path, options, index, new Set());
  }

  /**
   * The saved index, or null (with the reason) when it cannot be used. A readable index saved at
   * another generation comes back with `stale: true`: the caller reconciles it with the store.
   */
  static load(path: string, options: HnswOptions, generation: number): OpenedVectorIndex & { index: HnswIndex | null } {
    const metaPath = `${path}.json`;
    const fail = (reason: string) => ({ index: null, reason, stale: false });
    if (!existsSync(metaPath)) return fail('index file missing');
    let meta: Meta;
    try {
      meta = metaSchema.parse(JSON.parse(readFileSync(metaPath, 'utf8')));
    } catch {
      return fail('index metadata unreadable');
    }
    const dataPath = dataPathOf(path, meta);
    if (!existsSync(dataPath)) return fail('index file missing');
    if (meta.dim !== options.dim) return fail(`index dimension ${meta.dim} differs from the model's ${options.dim}`);
    if (meta.space !== options.space) return fail(`index space ${meta.space} differs from ${options.space}`);
    if (statSync(dataPath).size !== meta.bytes) return fail('index file size does not match its metadata');
    const stale = meta.generation !== generation;
    try {
      const index = new HierarchicalNSW(options.space, options.dim);
      index.readIndexSync(dataPath);
      const ids = index.getIdsList();
      if (ids.length !== meta.count) return fail('index holds a different number of vectors than recorded');
      const deleted = new Set(meta.deleted);
      const live = new Set(ids.filter((id) => !deleted.has(id)));
      const loaded = new HnswIndex(path, { ...options, m: meta.m, efConstruction: meta.efConstruction }, index, live);
      for (const id of deleted) loaded.deleted.add(id);
      return { index: loaded, reason: stale ? `index is stale (generation ${meta.generation}, store ${generation})` : null, stale };
    } catch {
      return fail('index file unreadable');
    }
  }

  get size(): number {
    return this.live.size;
  }

  /** Ids of the live vectors. */
  ids(): Set<number> {
    return new Set(this.live);
  }

  add(entries: readonly IndexEntry[]): void {
    for (const e of entries) {
      checkVector(e.vector, this.dim, `vector of image ${e.id}`);
      if (this.deleted.has(e.id)) throw new AppError('conflict', `image ${e.id} was deleted from the index and cannot come back`);
    }
    // An id already live is moved in place (hnswlib's addPoint updates a label it holds): no new slot.
    const needed = this.index.getCurrentCount() + entries.filter((e) => !this.live.has(e.id)).length;
    if (needed > this.index.getMaxElements()) this.index.resizeIndex(Math.max(needed, this.index.getMaxElements() * 2));
    for (const e of entries) {
      this.index.addPoint(Array.from(e.vector), e.id);
      this.live.add(e.id);
    }
  }

  remove(ids: readonly number[]): void {
    for (const id of ids) {
      if (!this.live.has(id)) continue;
      this.index.markDelete(id);
      this.live.delete(id);
      this.deleted.add(id);
    }
  }

  search(query: ArrayLike<number>, k: number, options: { ef?: number } = {}): Neighbor[] {
    checkK(k);
    checkVector(query, this.dim);
    const ef = options.ef ?? this.efSearch;
    if (!Number.isInteger(ef) || ef < 1 || ef > 100_000)
      throw new AppError('invalid_input', `ef must be an integer from 1 to 100000; got ${ef}`);
    const count = Math.min(k, this.live.size);
    if (count === 0) return [];
    this.index.setEf(Math.max(ef, count));
    const { distances, neighbors } = this.index.searchKnn(Array.from(query), count);
    return neighbors.map((id, i) => ({ id, distance: distances[i]! }));
  }

  save(generation: number): void {
    const dataPath = this.writeAt(this.path, generation);
    this.removeEarlierDataFiles(dataPath);
  }

  snapshot(path: string, generation: number): string[] {
    if (path === this.path) throw new AppError('internal', 'a snapshot goes beside the index, never over its own files');
    const dataPath = this.writeAt(path, generation);
    return [basename(`${path}.json`), basename(dataPath)];
  }

  /** Writes the data file and then commits the metadata at `<path>.json`; returns the data file's path. */
  private writeAt(path: string, generation: number): string {
    const file = `${basename(path)}.${generation}-${process.pid}-${Date.now().toString(36)}.hnsw`;
    const dataPath = join(dirname(path), file);
    writeFileDurableSync(dataPath, (tmp) => {
      this.index.writeIndexSync(tmp);
      // hnswlib's saveIndex never checks its writes: on a full disk it leaves a short file and
      // says nothing. A disk with no block left after the write is taken as that failure.
      if (statfsSync(dirname(tmp)).bavail === 0)
        throw Object.assign(new Error('no space left after writing the index'), { code: 'ENOSPC' });
    });
    const meta: Meta = {
      format: 'latent-atlas-hnsw',
      version: 2,
      file,
      dim: this.dim,
      space: this.space,
      m: this.m,
      efConstruction: this.efConstruction,
      generation,
      count: this.index.getIdsList().length,
      bytes: statSync(dataPath).size,
      deleted: [...this.deleted],
    };
    try {
      writeFileDurableSync(`${path}.json`, (tmp) => writeFileSync(tmp, JSON.stringify(meta))); // the commit
    } catch (error) {
      rmSync(dataPath, { force: true }); // never committed: the earlier save stays the index
      throw error;
    }
    return dataPath;
  }

  /**
   * Removes this index's data files older than the one just committed: earlier saves, and those of
   * writers killed before their commit. Kept: newer files, and recent files of another process that
   * still runs (a save of the web server or the worker, under way, about to commit).
   */
  private removeEarlierDataFiles(committed: string): void {
    const dir = dirname(this.path);
    const name = basename(this.path);
    const mine = statSync(committed).mtimeMs;
    for (const file of readdirSync(dir)) {
      const path = join(dir, file);
      if (path === committed || !file.startsWith(`${name}.`) || !file.endsWith('.hnsw')) continue;
      // Format 1's `<name>.hnsw` or a save's `<name>.<generation>-<pid>-<stamp>.hnsw`, nothing else.
      const save = /^(?:\d+-(\d+)-[0-9a-z]+)?$/.exec(file.slice(name.length + 1, -'.hnsw'.length));
      if (!save) continue;
      try {
        const written = statSync(path).mtimeMs;
        const writer = Number(save[1]);
        const underWay = save[1] && writer !== process.pid && mine - written < SAVE_WINDOW_MS && processRunningSince(writer, written);
        if (written >= mine || underWay) continue;
        rmSync(path, { force: true });
      } catch {
        // Removed meanwhile by another saver.
      }
    }
  }

  /** Replaces the contents with `entries`, in one go (see `rebuildInBatches` for long rebuilds). */
  rebuild(entries: Iterable<IndexEntry>, capacity: number, options: RebuildOptions = {}): void {
    for (const _ of this.rebuildSteps(entries, capacity, options));
  }

  /**
   * Replaces the contents with `entries`, added in batches of 1,024 with the event loop free
   * between them: `onProgress` after each batch, and `signal` (a job's cancellation, which arrives
   * through timers) stops it with AppError('cancelled'). Until `save`, the files on disk hold the
   * previous index; cancelled, the index in memory is the previous one too.
   */
  async rebuildInBatches(entries: Iterable<IndexEntry>, capacity: number, options: RebuildOptions = {}): Promise<void> {
    for (const _ of this.rebuildSteps(entries, capacity, options)) await new Promise<void>((resolve) => setImmediate(resolve));
  }

  private *rebuildSteps(entries: Iterable<IndexEntry>, capacity: number, options: RebuildOptions): Generator<void> {
    const index = new HierarchicalNSW(this.space, this.dim);
    index.initIndex({ maxElements: Math.max(16, capacity), m: this.m, efConstruction: this.efConstruction, randomSeed: 100 });
    const previous = { index: this.index, live: this.live, deleted: [...this.deleted] };
    this.index = index;
    this.live = new Set();
    this.deleted.clear();
    try {
      const batch: IndexEntry[] = [];
      const flush = () => {
        if (options.signal?.aborted) throw new AppError('cancelled', 'the index rebuild was cancelled');
        this.add(batch.splice(0));
        options.onProgress?.(this.live.size, Math.max(capacity, this.live.size));
      };
      for (const e of entries) {
        batch.push(e);
        if (batch.length === REBUILD_BATCH) {
          flush();
          yield;
        }
      }
      flush();
    } catch (error) {
      this.index = previous.index;
      this.live = previous.live;
      for (const id of previous.deleted) this.deleted.add(id);
      throw error;
    }
  }
}

/** Vectors added between two progress reports / cancellation checks of a rebuild. */
const REBUILD_BATCH = 1024;

/** hnswlib-node as a VectorIndexBackend, with the measured defaults (see HnswOptions). */
export const hnswBackend: VectorIndexBackend = Object.freeze({
  create: (path: string, options: VectorIndexOptions, capacity?: number) => HnswIndex.create(path, options, capacity),
  open: (path: string, options: VectorIndexOptions, generation: number) => HnswIndex.load(path, options, generation),
});
