/**
 * The seam between Latent Atlas and its nearest-neighbour index. Today hnswlib-node on one
 * machine; a distributed vector store (Qdrant, Milvus) can take its place by implementing this
 * interface and registering itself in `backends.ts`; services reach an index only through a
 * `VectorIndexBackend` and this interface, never an implementation's class. SQLite stays the
 * source of truth: every index can be rebuilt from it. `test/unit/vector-index/contract.test.ts`
 * runs the same cases against every registered backend.
 */
import type { DistanceSpace, Neighbor } from '../vectors/distance';

export interface IndexEntry {
  id: number;
  vector: Float32Array;
}

/** What every index is created or opened with; a backend may take its own tuning on top. */
export interface VectorIndexOptions {
  dim: number;
  space: DistanceSpace;
}

export interface RebuildOptions {
  /** Checked between batches; aborting stops the rebuild with AppError('cancelled'). */
  signal?: AbortSignal;
  /** Called after each batch with the vectors added so far and the expected total. */
  onProgress?: (done: number, total: number) => void;
}

/** A saved index opened again: null (with the reason) when it cannot be used, `stale` when it reflects another generation. */
export interface OpenedVectorIndex {
  index: VectorIndex | null;
  reason: string | null;
  stale: boolean;
}

/** One kind of index: how to make an empty one and how to open a saved one at a path. */
export interface VectorIndexBackend {
  /** An empty index at `path` (nothing written until `save`), sized for about `capacity` vectors. */
  create(path: string, options: VectorIndexOptions, capacity?: number): VectorIndex;
  /**
   * The index saved at `path`, or null with the reason (missing, unreadable, of another dimension
   * or space). Saved at another generation than `generation`, it comes back with `stale: true`:
   * the caller reconciles it with the store.
   */
  open(path: string, options: VectorIndexOptions, generation: number): OpenedVectorIndex;
}

export interface VectorIndex {
  readonly dim: number;
  readonly space: DistanceSpace;
  /** Live (not deleted) vectors. */
  readonly size: number;
  /** Ids of the live vectors. */
  ids(): Set<number>;
  /** Adds vectors by id; an id removed before cannot come back (AppError 'conflict'). */
  add(entries: readonly IndexEntry[]): void;
  /** Removes ids; a removed id never comes back in results. */
  remove(ids: readonly number[]): void;
  /** The k nearest live vectors (fewer when the index holds fewer). `ef`: recall vs latency. */
  search(query: ArrayLike<number>, k: number, options?: { ef?: number }): Neighbor[];
  /** Persists the index durably, stamped with the store generation it reflects. */
  save(generation: number): void;
  /**
   * Writes a copy of the index at another `path` — what `open(path, …, generation)` reads back,
   * answering every search exactly as this index does — leaving the index's own files alone.
   * Returns the files written, by name, all in `path`'s folder (for a remote worker to fetch).
   */
  snapshot(path: string, generation: number): string[];
  /** Replaces the contents with `entries` (from the store), in one go. */
  rebuild(entries: Iterable<IndexEntry>, capacity: number, options?: RebuildOptions): void;
  /**
   * Replaces the contents with `entries` in batches with the event loop free between them, so a
   * job's cancellation (`signal`) lands; cancelled, the index is the previous one.
   */
  rebuildInBatches(entries: Iterable<IndexEntry>, capacity: number, options?: RebuildOptions): Promise<void>;
}
