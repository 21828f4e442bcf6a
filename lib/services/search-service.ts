/**
 * Search by example: an image (bytes of an upload or a file) or a stored image id → the k most
 * similar stored images with their distances, through the active model and its index. Exact
 * brute-force search over the stored vectors is there too, for recall checks and small libraries.
 */
import { AppError } from '../errors';
import { embedImages } from '../models/inference';
import { clusterMembers } from '../store/clusters-repo';
import { countEmbeddings, iterateEmbeddings } from '../store/embeddings-repo';
import { getImage, getImages, type ImageRecord, type Modality } from '../store/images-repo';
import { checkK, exactSearch, type Neighbor } from '../vectors/distance';
import type { Library } from './library';
import { INDEX_SPACE, loadActiveModel, modelIndex, storedEmbedding, type LoadedModel } from './model-service';
import { prepareIsolated } from './decoding';

export interface SearchHit {
  image: ImageRecord;
  distance: number;
}
export interface SearchResult {
  query: { imageId: number | null };
  hits: SearchHit[];
  modelId: number;
}

export type SearchQuery = { bytes: Uint8Array } | { imageId: number };

export interface SearchOptions {
  k?: number;
  /** HNSW candidate list; higher = better recall, slower. */
  ef?: number;
  /** Brute force over all stored vectors instead of the index. */
  exact?: boolean;
  /** Only images that match (modality, label, membership of a stored cluster). */
  filter?: SearchFilter;
}

export interface SearchFilter {
  modality?: Modality;
  label?: string;
  cluster?: { runId: number; cluster: number };
}

function matcher(library: Library, filter: SearchFilter): (image: ImageRecord) => boolean {
  const members = filter.cluster
    ? new Set(clusterMembers(library.db, filter.cluster.runId, filter.cluster.cluster).map((m) => m.imageId))
    : null;
  return (image) =>
    (!filter.modality || image.modality === filter.modality) &&
    (filter.label === undefined || image.labels.includes(filter.label)) &&
    (!members || members.has(image.id));
}

/** The query's latent vector under `loaded` (the active model, loaded once per search). */
async function queryVector(library: Library, { record, model }: LoadedModel, query: SearchQuery): Promise<Float32Array> {
  if ('imageId' in query) {
    if (!Number.isInteger(query.imageId) || query.imageId < 1 || !getImage(library.db, query.imageId))
      throw new AppError('not_found', `image ${query.imageId} not found`);
    return storedEmbedding(library, record, query.imageId);
  }
  const [height, width, channels] = model.spec.inputShape;
  const image = await prepareIsolated(library, query.bytes, { target: { height, width, channels } });
  return embedImages(model, { pixels: image.pixels, count: 1, height, width, channels });
}

/** The k most similar stored images (the query image itself excluded when it is stored). */
export async function searchSimilar(library: Library, query: SearchQuery, options: SearchOptions = {}): Promise<SearchResult> {
  const k = options.k ?? 10;
  checkK(k, 1000);
  const loaded = await loadActiveModel(library);
  const { record } = loaded;
  const vector = await queryVector(library, loaded, query);
  const self = 'imageId' in query ? query.imageId : null;
  const keep = options.filter ? matcher(library, options.filter) : () => true;
  const opened = options.exact ? null : modelIndex(library, record);
  const stored = opened ? opened.index.size : countEmbeddings(library.db, record.id);
  // With a filter, look further down the list until k matches are found or every image was seen.
  let wanted = options.filter ? Math.max(4 * k, 100) : k + 1;
  let hits: SearchHit[];
  for (;;) {
    const fetch = Math.min(wanted, Math.max(stored, 1), 10_000);
    let neighbors: Neighbor[];
    if (options.exact) {
      const entries = (function* () {
        for (const e of iterateEmbeddings(library.db, record.id, record.latentSize)) yield { id: e.imageId, vector: e.vector };
      })();
      neighbors = exactSearch(INDEX_SPACE, entries, vector, fetch);
    } else {
      neighbors = opened!.index.search(vector, fetch, options.ef === undefined ? {} : { ef: Math.max(options.ef, fetch) });
    }
    neighbors = neighbors.filter((n) => n.id !== self);
    const images = getImages(
      library.db,
      neighbors.map((n) => n.id),
    );
    hits = neighbors
      .filter((n) => images.has(n.id) && keep(images.get(n.id)!))
      .slice(0, k)
      .map((n) => ({ image: images.get(n.id)!, distance: n.distance }));
    if (hits.length >= k || fetch >= stored || fetch >= 10_000) break;
    wanted *= 4;
  }
  return {
    query: { imageId: self },
    hits,
    modelId: record.id,
  };
}
