/**
 * The registry of vector-index backends: the one place that names an implementation. Services ask
 * `vectorIndexBackend()` for the backend and get a `VectorIndexBackend`, so a distributed store
 * plugs in here (and passes `test/unit/vector-index/contract.test.ts`) without a service changing.
 */
import { AppError } from '../errors';
import { hnswBackend } from './hnsw-index';
import type { VectorIndexBackend } from './vector-index';

/** Supported backends by name. Frozen: the list is the contract the contract tests run over. */
export const VECTOR_INDEX_BACKENDS: Readonly<Record<string, VectorIndexBackend>> = Object.freeze({
  /** hnswlib-node, one machine, files beside the SQLite database. */
  hnsw: hnswBackend,
});

export const DEFAULT_VECTOR_INDEX_BACKEND = 'hnsw';

/** The backend registered as `name` (default hnsw); an unknown name lists the valid ones. */
export function vectorIndexBackend(name: string = DEFAULT_VECTOR_INDEX_BACKEND): VectorIndexBackend {
  const backend = VECTOR_INDEX_BACKENDS[name];
  if (!backend)
    throw new AppError(
      'invalid_input',
      `unknown vector index backend "${name}"; expected one of: ${Object.keys(VECTOR_INDEX_BACKENDS).join(', ')}`,
    );
  return backend;
}
