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

/** Rows per chunk when reading a map into columns. */
const CHUNK_ROWS = 65_536;

/**
 * A model's stored map as typed columns with each point's first label and its cluster in `runId`
 * (-1 when none), live images only, in image-id order: read in keyset chunks straight into arrays
 * allocated once at their size, in one read snapshot — no object per point.
 */
export function readMapColumns(db: Db, modelId: number, method: MapMethod, runId: number | null): MapColumns {
  return db.transaction(() => {
    const n = liveCount(db, 'map_points', 'm', 'm.model_id = ? AND m.method = ?', modelId, method);
    const columns: MapColumns = {
      ids: new Uint32Array(n),
      xy: new Float32Array(2 * n),
      cluster: new Int32Array(n).fill(-1),
      label: new Int32Array(n).fill(-1),
      labels: [],
    };
    const labelIndex = new Map<string, number>();
    const chunk = statement(
      db,
      `SELECT m.image_id, m.x, m.y, json_extract(i.labels, '$[0]'), a.cluster
       FROM map_points m JOIN images i ON i.id = m.image_id
       LEFT JOIN cluster_assignments a ON a.run_id = ? AND a.image_id = m.image_id
       WHERE m.model_id = ? AND m.method = ? AND m.image_id > ? AND i.deleted_at IS NULL
       ORDER BY m.image_id LIMIT ?`,
    ).raw(true);
    for (let at = 0, after = 0; at < n;) {
      const rows = chunk.all(runId ?? -1, modelId, method, after, CHUNK_ROWS) as [number, number, number, string | null, number | null][];
      if (rows.length === 0) break;
      for (const [id, x, y, label, cluster] of rows) {
        if (at === n) break;
        columns.ids[at] = id;
        columns.xy[2 * at] = x;
        columns.xy[2 * at + 1] = y;
        if (cluster !== null) columns.cluster[at] = cluster;
        if (label !== null && label !== undefined) {
          let index = labelIndex.get(label);
          if (index === undefined) labelIndex.set(label, (index = columns.labels.push(label) - 1));
          columns.label[at] = index;
        }
        at++;
      }
      after = rows[rows.length - 1]![0];
    }
    return columns;
  })();
}
