/** 2-D coordinates of each image's latent vector, per model and projection, for the map view. */
import { immediate, type Db } from './database';

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
