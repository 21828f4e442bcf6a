/**
 * Cluster runs and their assignments. A run keeps its parameters, its model and a summary per
 * cluster (name, size, centroid, spread, representatives, outliers) as JSON.
 */
import { immediate, liveCount, statement, type Db } from './database';

export interface ClusterSummary {
  cluster: number;
  name: string | null;
  size: number;
  centroid: number[];
  /** Mean squared distance of the members to the centroid. */
  spread: number;
  /** Image ids closest to the centroid. */
  representatives: number[];
  /** Image ids farthest from the centroid. */
  outliers: number[];
}

export interface ClusterRun {
  id: number;
  modelId: number;
  params: { k: number; seed: number; restarts: number; auto: boolean; umap: boolean };
  result: {
    clusters: ClusterSummary[];
    inertia: number;
    iterations: number;
    /** Per candidate k of an automatic choice; `eigengap` absent in runs stored before it was the criterion. */
    elbow?: { k: number; inertia: number; silhouette: number; eigengap?: number }[];
    /** Corrected by hand since it ran. */
    edited?: boolean;
  };
  createdAt: string;
}

interface Row {
  id: number;
  model_id: number;
  params: string;
  result: string;
  created_at: string;
}

const toRun = (r: Row): ClusterRun => ({
  id: r.id,
  modelId: r.model_id,
  params: JSON.parse(r.params),
  result: JSON.parse(r.result),
  createdAt: r.created_at,
});

export function insertClusterRun(
  db: Db,
  run: Omit<ClusterRun, 'id' | 'createdAt'>,
  assignments: { imageId: number; cluster: number; distance: number }[],
): ClusterRun {
  return immediate(db, () => {
    const info = db
      .prepare('INSERT INTO cluster_runs (model_id, params, result, created_at) VALUES (?, ?, ?, ?)')
      .run(run.modelId, JSON.stringify(run.params), JSON.stringify(run.result), new Date().toISOString());
    const id = Number(info.lastInsertRowid);
    const insert = db.prepare('INSERT INTO cluster_assignments (run_id, image_id, cluster, distance) VALUES (?, ?, ?, ?)');
    for (const a of assignments) insert.run(id, a.imageId, a.cluster, a.distance);
    return toRun(db.prepare('SELECT * FROM cluster_runs WHERE id = ?').get(id) as Row);
  });
}

export function getClusterRun(db: Db, id: number): ClusterRun | null {
  const row = db.prepare('SELECT * FROM cluster_runs WHERE id = ?').get(id) as Row | undefined;
  return row ? toRun(row) : null;
}

export function listClusterRuns(db: Db): ClusterRun[] {
  return (db.prepare('SELECT * FROM cluster_runs ORDER BY id DESC').all() as Row[]).map(toRun);
}

export function updateClusterRunResult(db: Db, id: number, result: ClusterRun['result']): void {
  db.prepare('UPDATE cluster_runs SET result = ? WHERE id = ?').run(JSON.stringify(result), id);
}

/** Members of one cluster of a run (live images only), nearest to the centroid first. */
export function clusterMembers(db: Db, runId: number, cluster: number): { imageId: number; distance: number }[] {
  return db
    .prepare(
      `SELECT a.image_id AS imageId, a.distance AS distance FROM cluster_assignments a JOIN images i ON i.id = a.image_id
    WHERE a.run_id = ? AND a.cluster = ? AND i.deleted_at IS NULL ORDER BY a.distance`,
    )
    .all(runId, cluster) as { imageId: number; distance: number }[];
}

/** Where a page of a cluster's members starts: after this member in (distance, image id) order. */
export interface MemberCursor {
  distance: number;
  imageId: number;
}

/**
 * A page of one cluster's live members, nearest to the centroid first (ties by image id), after
 * `after` (keyset: a page deep in a large cluster costs what the first one does), with the
 * cluster's live size and the cursor of the next page (null on the last).
 */
export function clusterMemberPage(
  db: Db,
  runId: number,
  cluster: number,
  page: { after?: MemberCursor; limit: number },
): { members: { imageId: number; distance: number }[]; total: number; nextCursor: MemberCursor | null } {
  const total = liveCount(db, 'cluster_assignments', 'a', 'a.run_id = ? AND a.cluster = ?', runId, cluster);
  const after = page.after ?? { distance: -Infinity, imageId: 0 };
  const rows = statement(
    db,
    `SELECT a.image_id AS imageId, a.distance AS distance FROM cluster_assignments a JOIN images i ON i.id = a.image_id
     WHERE a.run_id = ? AND a.cluster = ? AND (a.distance, a.image_id) > (?, ?) AND i.deleted_at IS NULL
     ORDER BY a.distance, a.image_id LIMIT ?`,
  ).all(runId, cluster, after.distance, after.imageId, page.limit + 1) as { imageId: number; distance: number }[];
  const members = rows.slice(0, page.limit);
  const last = members[members.length - 1];
  return { members, total, nextCursor: rows.length > page.limit && last ? { distance: last.distance, imageId: last.imageId } : null };
}

/** Every live image's cluster in a run. */
export function runAssignments(db: Db, runId: number): Map<number, number> {
  const rows = db
    .prepare(
      `SELECT a.image_id AS imageId, a.cluster AS cluster FROM cluster_assignments a JOIN images i ON i.id = a.image_id
    WHERE a.run_id = ? AND i.deleted_at IS NULL`,
    )
    .all(runId) as { imageId: number; cluster: number }[];
  return new Map(rows.map((r) => [r.imageId, r.cluster]));
}

/** Moves images to another cluster of a run (their distance is given per image). */
export function reassignImages(db: Db, runId: number, moves: readonly { imageId: number; cluster: number; distance: number }[]): void {
  const update = db.prepare('UPDATE cluster_assignments SET cluster = ?, distance = ? WHERE run_id = ? AND image_id = ?');
  for (const m of moves) update.run(m.cluster, m.distance, runId, m.imageId);
}

/**
 * Pins: the user's own corrections, by model — "this image belongs to the group named G". A new
 * clustering run puts every pinned image of a group into one cluster and gives it the name.
 */
export function pinImages(db: Db, modelId: number, imageIds: readonly number[], group: string): void {
  const put = db.prepare(
    'INSERT INTO cluster_pins (model_id, image_id, grp) VALUES (?, ?, ?) ON CONFLICT (model_id, image_id) DO UPDATE SET grp = excluded.grp',
  );
  for (const id of imageIds) put.run(modelId, id, group);
}

export function renamePinGroup(db: Db, modelId: number, from: string, to: string): void {
  db.prepare('UPDATE cluster_pins SET grp = ? WHERE model_id = ? AND grp = ?').run(to, modelId, from);
}

/** The model's pins (live images only), by group. */
export function pinnedGroups(db: Db, modelId: number): Map<string, number[]> {
  const rows = db
    .prepare(
      `SELECT p.grp AS grp, p.image_id AS imageId FROM cluster_pins p JOIN images i ON i.id = p.image_id
       WHERE p.model_id = ? AND i.deleted_at IS NULL ORDER BY p.grp, p.image_id`,
    )
    .all(modelId) as { grp: string; imageId: number }[];
  const groups = new Map<string, number[]>();
  for (const r of rows) (groups.get(r.grp) ?? groups.set(r.grp, []).get(r.grp)!).push(r.imageId);
  return groups;
}
