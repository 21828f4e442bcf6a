/**
 * The seam between Latent Atlas and its nearest-neighbour index. Today hnswlib-node on one
 * machine; a distributed vector store (Qdrant, Milvus) can take its place by implementing this
 * interface. SQLite stays the source of truth: every index can be rebuilt from it.
 */
import type { DistanceSpace, Neighbor } from '../vectors/distance';

export interface IndexEntry {
  id: number;
  vector: Float32Array;
}

export interface VectorIndex {
  readonly dim: number;
  readonly space: DistanceSpace;
  /** Live (not deleted) vectors. */
  readonly size: number;
  /** Adds or replaces vectors by id. */
  add(entries: readonly IndexEntry[]): void;
  /** Removes ids; a removed id never comes back in results. */
  remove(ids: readonly number[]): void;
  /** The k nearest live vectors (fewer when the index holds fewer). `ef`: recall vs latency. */
  search(query: ArrayLike<number>, k: number, options?: { ef?: number }): Neighbor[];
  /** Persists the index durably, stamped with the store generation it reflects. */
  save(generation: number): void;
  /** Replaces the contents with `entries` (from the store), in batches that report progress and can be cancelled. */
  rebuild(
    entries: Iterable<IndexEntry>,
    capacity: number,
    options?: { signal?: AbortSignal; onProgress?: (done: number, total: number) => void },
  ): void;
}
