/** 2-D coordinates of each image's latent vector, per model and projection, for the map view. */
import { immediate, liveCount, statement, type Db } from './database';

export type MapMethod = 'pca' | 'umap';
export interface MapPoint {
  imageId: number;
  x: number;
  y: number;
}

/** Replaces a model's map for `method` in one transaction. */
export function replaceMap(db: Db, modelId: number, method: MapMethod, points: readonly MapPoint[]): void {
  immediate(db, () => {
    db.prepare('DELETE FROM map_points WHERE model_id = ? AND method = ?').run(modelId, method);
    const insert = db.prepare('INSERT INTO map_points (model_id, method, image_id, x, y) VALUES (?, ?, ?, ?, ?)');
    for (const p of points) insert.run(modelId, method, p.imageId, p.x, p.y);
  });
}

export function readMap(db: Db, modelId: number, method: MapMethod): MapPoint[] {
  return db
    .prepare(
      `SELECT m.image_id AS imageId, m.x AS x, m.y AS y FROM map_points m JOIN images i ON i.id = m.image_id
    WHERE m.model_id = ? AND m.method = ? AND i.deleted_at IS NULL ORDER BY m.image_id`,
    )
    .all(modelId, method) as MapPoint[];
}

/** A map as typed columns, one entry per point (the wire form's content, see services/map-format.ts). */
export interface MapColumns {
  ids: Uint32Array;
  /** x0, y0, x1, y1, … */
  xy: Float32Array;
  /** Cluster in the requested run, -1 when none. */
  cluster: Int32Array;
  /** Index into `labels` of the first label, -1 when none. */
  label: Int32Array;
  labels: string[];
}

/**
 * Rows per chunk when reading a map into columns: each chunk holds the process (the web server's
 * event loop) for ~40 ms here; a million points read in one go held it for 2–3 s.
 */
const CHUNK_ROWS = 16_384;

/**
 * A model's stored map as typed columns with each point's first label and its cluster in `runId`
 * (-1 when none), live images only, in image-id order: read in keyset chunks straight into arrays
 * allocated once, no object per point. Between chunks it yields to the event loop, so a large map
 * does not stall other requests; a chunk reads what is stored then (a point deleted meanwhile is
 * left out, one added meanwhile may be).
 */
export async function readMapColumns(db: Db, modelId: number, method: MapMethod, runId: number | null): Promise<MapColumns> {
  const n = liveCount(db, 'map_points', 'm', 'm.model_id = ? AND m.method = ?', modelId, method);
  const ids = new Uint32Array(n);
  const xy = new Float32Array(2 * n);
  const cluster = new Int32Array(n).fill(-1);
  const label = new Int32Array(n).fill(-1);
  const labels: string[] = [];
  const labelIndex = new Map<string, number>();
  const chunk = statement(
    db,
    `SELECT m.image_id, m.x, m.y, json_extract(i.labels, '$[0]'), a.cluster
     FROM map_points m JOIN images i ON i.id = m.image_id
     LEFT JOIN cluster_assignments a ON a.run_id = ? AND a.image_id = m.image_id
     WHERE m.model_id = ? AND m.method = ? AND m.image_id > ? AND i.deleted_at IS NULL
     ORDER BY m.image_id LIMIT ?`,
  ).raw(true);
  let at = 0;
  for (let after = 0; at < n;) {
    const rows = chunk.all(runId ?? -1, modelId, method, after, CHUNK_ROWS) as [number, number, number, string | null, number | null][];
    for (const [id, x, y, first, c] of rows) {
      if (at === n) break;
      ids[at] = id;
      xy[2 * at] = x;
      xy[2 * at + 1] = y;
      if (c !== null) cluster[at] = c;
      if (first !== null && first !== undefined) {
        let index = labelIndex.get(first);
        if (index === undefined) labelIndex.set(first, (index = labels.push(first) - 1));
        label[at] = index;
      }
      at++;
    }
    if (rows.length < CHUNK_ROWS) break;
    after = rows[rows.length - 1]![0];
    await new Promise((resolve) => setImmediate(resolve));
  }
  // Points deleted while reading leave the arrays shorter than counted.
  if (at === n) return { ids, xy, cluster, label, labels };
  return { ids: ids.slice(0, at), xy: xy.slice(0, 2 * at), cluster: cluster.slice(0, at), label: label.slice(0, at), labels };
}
