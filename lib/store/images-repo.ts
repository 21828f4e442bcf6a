/**
 * Images in the store: one row per distinct content (sha-256 of the bytes); the name a user gave
 * is metadata only, never a path.
 */
import { immediate, statement, type Db } from './database';

export const MODALITIES = Object.freeze(['photo', 'xray', 'dicom'] as const);
export type Modality = (typeof MODALITIES)[number];

export interface ImageRecord {
  id: number;
  contentHash: string;
  originalName: string | null;
  format: string;
  byteSize: number;
  width: number;
  height: number;
  modality: Modality;
  labels: string[];
  metadata: Record<string, unknown>;
  createdAt: string;
}

export type NewImage = Omit<ImageRecord, 'id' | 'createdAt' | 'labels' | 'metadata'> & {
  labels?: string[];
  metadata?: Record<string, unknown>;
};

/** An images row as SQLite returns it (for repositories that read images with other tables). */
export interface ImageRow {
  id: number;
  content_hash: string;
  original_name: string | null;
  format: string;
  byte_size: number;
  width: number;
  height: number;
  modality: Modality;
  labels: string;
  metadata: string;
  created_at: string;
}

export const toImageRecord = (r: ImageRow): ImageRecord => ({
  id: r.id,
  contentHash: r.content_hash,
  originalName: r.original_name,
  format: r.format,
  byteSize: r.byte_size,
  width: r.width,
  height: r.height,
  modality: r.modality,
  labels: JSON.parse(r.labels) as string[],
  metadata: JSON.parse(r.metadata) as Record<string, unknown>,
  createdAt: r.created_at,
});

export function findImageByHash(db: Db, contentHash: string): ImageRecord | null {
  const row = statement(db, 'SELECT * FROM images WHERE content_hash = ? AND deleted_at IS NULL').get(contentHash) as ImageRow | undefined;
  return row ? toImageRecord(row) : null;
}

/** Hashes of the live images (a deleted image added again comes back, under a new id). */
export function knownHashes(db: Db): Set<string> {
  return new Set(db.prepare('SELECT content_hash FROM images WHERE deleted_at IS NULL').pluck().all() as string[]);
}

/** Whether any row (live or deleted) names this content: its original must stay on disk. */
export function hashReferenced(db: Db, contentHash: string): boolean {
  return db.prepare('SELECT 1 FROM images WHERE content_hash = ? LIMIT 1').get(contentHash) !== undefined;
}

/** Removes the rows of a deleted image with this hash, so the bytes can be added again (new id). */
export function purgeDeletedHash(db: Db, contentHash: string): void {
  statement(db, 'DELETE FROM images WHERE content_hash = ? AND deleted_at IS NOT NULL').run(contentHash);
}

export function getImage(db: Db, id: number): ImageRecord | null {
  const row = statement(db, 'SELECT * FROM images WHERE id = ? AND deleted_at IS NULL').get(id) as ImageRow | undefined;
  return row ? toImageRecord(row) : null;
}

export function getImages(db: Db, ids: readonly number[]): Map<number, ImageRecord> {
  const out = new Map<number, ImageRecord>();
  const stmt = statement(db, 'SELECT * FROM images WHERE id = ? AND deleted_at IS NULL');
  for (const id of ids) {
    const row = stmt.get(id) as ImageRow | undefined;
    if (row) out.set(id, toImageRecord(row));
  }
  return out;
}

/** Inserts an image (call inside a transaction); returns its id. */
export function insertImage(db: Db, image: NewImage): number {
  const result = statement(
    db,
    `INSERT INTO images (content_hash, original_name, format, byte_size, width, height, modality, labels, metadata, created_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    image.contentHash,
    image.originalName,
    image.format,
    image.byteSize,
    image.width,
    image.height,
    image.modality,
    JSON.stringify(image.labels ?? []),
    JSON.stringify(image.metadata ?? {}),
    new Date().toISOString(),
  );
  return Number(result.lastInsertRowid);
}

/**
 * Soft-deletes an image in one transaction: its embeddings go, the index generation of every
 * model that had one moves on (so their indexes drop it), its hash stays known. False if absent.
 */
export function deleteImage(db: Db, id: number): boolean {
  return immediate(db, () => {
    const result = db.prepare('UPDATE images SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL').run(new Date().toISOString(), id);
    if (result.changes === 0) return false;
    const models = db.prepare('SELECT model_id FROM embeddings WHERE image_id = ?').pluck().all(id) as number[];
    db.prepare('DELETE FROM embeddings WHERE image_id = ?').run(id);
    for (const model of models) db.prepare('UPDATE models SET index_generation = index_generation + 1 WHERE id = ?').run(model);
    return true;
  });
}

export function countImages(db: Db): number {
  return db.prepare('SELECT count(*) FROM images WHERE deleted_at IS NULL').pluck().get() as number;
}

export interface ImageQuery {
  /**
   * Keyset cursor: only images older than this id — the `nextCursor` of the page before. Default:
   * from the newest. Unlike OFFSET, a page deep in a million rows costs what the first one does.
   */
  before?: number;
  /** Default 100. */
  limit?: number;
  modality?: Modality;
  /** Only images carrying this label. */
  label?: string;
}

export interface ImagePage {
  images: ImageRecord[];
  /** Live images matching the filters, over all pages. */
  total: number;
  /** The cursor (`before`) of the next page; null on the last one. */
  nextCursor: number | null;
}

/** A page of live images, newest first (by id), with the total matching the filters. */
export function listImages(db: Db, query: ImageQuery = {}): ImagePage {
  const limit = query.limit ?? 100;
  const before = query.before ?? Number.MAX_SAFE_INTEGER;
  const modality = query.modality ? ' AND i.modality = ?' : '';
  const modalityArgs = query.modality ? [query.modality] : [];
  let total: number;
  let rows: ImageRow[];
  // One row more than the page tells whether a next page exists without counting.
  if (query.label !== undefined) {
    // A label's images come from its index (label, image id), newest first, not from every row's JSON.
    total = query.modality
      ? (statement(db, 'SELECT count(*) FROM image_labels l JOIN images i ON i.id = l.image_id WHERE l.label = ? AND i.modality = ?')
          .pluck()
          .get(query.label, query.modality) as number)
      : ((statement(db, 'SELECT count FROM label_counts WHERE label = ?').pluck().get(query.label) as number | undefined) ?? 0);
    rows = statement(
      db,
      `SELECT i.* FROM image_labels l JOIN images i ON i.id = l.image_id
       WHERE l.label = ? AND l.image_id < ? AND i.deleted_at IS NULL${modality} ORDER BY l.image_id DESC LIMIT ?`,
    ).all(query.label, before, ...modalityArgs, limit + 1) as ImageRow[];
  } else {
    total = statement(db, `SELECT count(*) FROM images i WHERE i.deleted_at IS NULL${modality}`)
      .pluck()
      .get(...modalityArgs) as number;
    rows = statement(db, `SELECT i.* FROM images i WHERE i.deleted_at IS NULL AND i.id < ?${modality} ORDER BY i.id DESC LIMIT ?`).all(
      before,
      ...modalityArgs,
      limit + 1,
    ) as ImageRow[];
  }
  const images = rows.slice(0, limit).map(toImageRecord);
  return { images, total, nextCursor: rows.length > limit ? images[images.length - 1]!.id : null };
}

/** Ids and content hashes of every live image, oldest first. */
export function liveImageHashes(db: Db): { id: number; contentHash: string }[] {
  return db.prepare('SELECT id, content_hash AS contentHash FROM images WHERE deleted_at IS NULL ORDER BY id').all() as {
    id: number;
    contentHash: string;
  }[];
}

/** Every label in use with its number of live images, most used first (kept by triggers, not counted per call). */
export function labelCounts(db: Db): { label: string; count: number }[] {
  return statement(db, 'SELECT label, count FROM label_counts ORDER BY count DESC, label').all() as { label: string; count: number }[];
}

/** Replaces an image's labels; false when there is no such live image. */
export function setImageLabels(db: Db, id: number, labels: readonly string[]): boolean {
  return db.prepare('UPDATE images SET labels = ? WHERE id = ? AND deleted_at IS NULL').run(JSON.stringify(labels), id).changes > 0;
}
