/**
 * The SQLite store (better-sqlite3; this folder alone imports it): the source of truth for
 * images, models, embeddings, cluster runs and jobs. Versioned migrations, WAL, and writes in
 * `BEGIN IMMEDIATE` transactions so concurrent writers queue instead of failing mid-way.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { asStorageError } from '../durable-file';
import { AppError } from '../errors';

export type Db = Database.Database;

/** Migrations in order; each runs once, in a transaction, and bumps `user_version`. */
const MIGRATIONS: readonly string[] = Object.freeze([
  `
  CREATE TABLE images (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    content_hash TEXT NOT NULL UNIQUE,
    original_name TEXT,
    format TEXT NOT NULL,
    byte_size INTEGER NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    modality TEXT NOT NULL CHECK (modality IN ('photo', 'xray', 'dicom')),
    labels TEXT NOT NULL DEFAULT '[]',
    metadata TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    deleted_at TEXT
  );
  CREATE TABLE models (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    dir TEXT NOT NULL,
    spec TEXT NOT NULL,
    latent_size INTEGER NOT NULL,
    active INTEGER NOT NULL DEFAULT 0,
    index_generation INTEGER NOT NULL DEFAULT 0,
    training TEXT,
    created_at TEXT NOT NULL
  );
  CREATE UNIQUE INDEX models_one_active ON models (active) WHERE active = 1;
  CREATE TABLE embeddings (
    image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    model_id INTEGER NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    vector BLOB NOT NULL,
    recon_error REAL,
    PRIMARY KEY (image_id, model_id)
  ) WITHOUT ROWID;
  CREATE INDEX embeddings_by_model ON embeddings (model_id);
  CREATE TABLE cluster_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    model_id INTEGER NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    params TEXT NOT NULL,
    result TEXT,
    created_at TEXT NOT NULL
  );
  CREATE TABLE cluster_assignments (
    run_id INTEGER NOT NULL REFERENCES cluster_runs (id) ON DELETE CASCADE,
    image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    cluster INTEGER NOT NULL,
    distance REAL NOT NULL,
    PRIMARY KEY (run_id, image_id)
  ) WITHOUT ROWID;
  CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    params TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    progress TEXT NOT NULL DEFAULT '{}',
    result TEXT,
    error TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
  );
  `,
  `
  CREATE TABLE map_points (
    model_id INTEGER NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    method TEXT NOT NULL CHECK (method IN ('pca', 'umap')),
    image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    x REAL NOT NULL,
    y REAL NOT NULL,
    PRIMARY KEY (model_id, method, image_id)
  ) WITHOUT ROWID;
  `,
  `
  ALTER TABLE jobs ADD COLUMN dedupe_key TEXT;
  ALTER TABLE jobs ADD COLUMN cancel_requested INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE jobs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE jobs ADD COLUMN worker TEXT;
  ALTER TABLE jobs ADD COLUMN heartbeat_at TEXT;
  ALTER TABLE jobs ADD COLUMN started_at TEXT;
  ALTER TABLE jobs ADD COLUMN finished_at TEXT;
  CREATE INDEX jobs_by_state ON jobs (state, id);
  CREATE UNIQUE INDEX jobs_one_active_per_key ON jobs (dedupe_key) WHERE state IN ('queued', 'running');
  `,
  `
  CREATE TABLE cluster_pins (
    model_id INTEGER NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    grp TEXT NOT NULL,
    PRIMARY KEY (model_id, image_id)
  ) WITHOUT ROWID;
  `,
  // Keyset pages at a million rows: the live images counted from a small index instead of the
  // table, by modality as well, and a cluster's members read in (distance, id) order without a sort.
  `
  CREATE INDEX images_live ON images (id) WHERE deleted_at IS NULL;
  CREATE INDEX images_live_by_modality ON images (modality, id) WHERE deleted_at IS NULL;
  CREATE INDEX cluster_assignments_by_cluster ON cluster_assignments (run_id, cluster, distance, image_id);
  `,
  // Labels of live images kept beside their JSON by triggers: the count per label (the listing
  // asks on every page) and a label's images newest first, without reading every row's JSON.
  `
  CREATE TABLE image_labels (
    label TEXT NOT NULL,
    image_id INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    PRIMARY KEY (label, image_id)
  ) WITHOUT ROWID;
  CREATE INDEX image_labels_by_image ON image_labels (image_id);
  CREATE TABLE label_counts (label TEXT PRIMARY KEY, count INTEGER NOT NULL) WITHOUT ROWID;
  INSERT OR IGNORE INTO image_labels (label, image_id)
    SELECT value, images.id FROM images, json_each(images.labels) WHERE deleted_at IS NULL;
  INSERT INTO label_counts (label, count) SELECT label, count(*) FROM image_labels GROUP BY label;
  CREATE TRIGGER image_labels_added AFTER INSERT ON image_labels BEGIN
    INSERT INTO label_counts (label, count) VALUES (NEW.label, 1) ON CONFLICT (label) DO UPDATE SET count = count + 1;
  END;
  CREATE TRIGGER image_labels_removed AFTER DELETE ON image_labels BEGIN
    UPDATE label_counts SET count = count - 1 WHERE label = OLD.label;
    DELETE FROM label_counts WHERE label = OLD.label AND count <= 0;
  END;
  CREATE TRIGGER images_labels_inserted AFTER INSERT ON images WHEN NEW.deleted_at IS NULL BEGIN
    INSERT OR IGNORE INTO image_labels (label, image_id) SELECT value, NEW.id FROM json_each(NEW.labels);
  END;
  CREATE TRIGGER images_labels_updated AFTER UPDATE OF labels, deleted_at ON images BEGIN
    DELETE FROM image_labels WHERE image_id = NEW.id;
    INSERT OR IGNORE INTO image_labels (label, image_id) SELECT value, NEW.id FROM json_each(NEW.labels) WHERE NEW.deleted_at IS NULL;
  END;
  `,
  // The trash: images deleted by a review stay restorable (their rows soft-deleted, their vectors
  // kept here, their originals on disk) until it is emptied.
  `
  CREATE TABLE trash (
    image_id INTEGER PRIMARY KEY REFERENCES images (id) ON DELETE CASCADE,
    job_id INTEGER,
    trashed_at TEXT NOT NULL
  );
  CREATE INDEX trash_by_job ON trash (job_id);
  CREATE TABLE trash_embeddings (
    image_id INTEGER NOT NULL REFERENCES trash (image_id) ON DELETE CASCADE,
    model_id INTEGER NOT NULL REFERENCES models (id) ON DELETE CASCADE,
    vector BLOB NOT NULL,
    recon_error REAL,
    PRIMARY KEY (image_id, model_id)
  ) WITHOUT ROWID;
  `,
  // Live counts at a million rows: the rows of deleted images are found from the (few) deleted
  // images themselves, not by joining every row with images (liveCount).
  `
  CREATE INDEX images_deleted ON images (id) WHERE deleted_at IS NOT NULL;
  `,
  // Vectors replaced in place (a re-embed of every image): other processes reopen the saved index
  // rather than catch up by ids, which would keep the old vectors (model-service.ts modelIndex).
  `
  ALTER TABLE models ADD COLUMN vectors_epoch INTEGER NOT NULL DEFAULT 0;
  `,
  // The model-input preparation (image-decoder.ts MODEL_INPUT_VERSION) a model's stored vectors were
  // made with: the models registered before it was recorded were embedded the first way (1); the
  // worker re-embeds the active one when it is older than today's (job-service.ts queueInputUpgrade).
  `
  ALTER TABLE models ADD COLUMN vectors_input_version INTEGER NOT NULL DEFAULT 1;
  `,
]);

export const SCHEMA_VERSION = MIGRATIONS.length;

/** What a damaged database file answers when SQLite reads it. */
const DAMAGED_CODES = new Set([
  'SQLITE_CORRUPT',
  'SQLITE_NOTADB',
  'SQLITE_CORRUPT_INDEX',
  'SQLITE_CORRUPT_SEQUENCE',
  'SQLITE_CORRUPT_VTAB',
]);

/** The error for a damaged database: says it was left as it is and how to restore. */
export function damagedDatabase(detail: string, cause?: unknown): AppError {
  return new AppError(
    'damaged',
    `the library database (atlas.db) is damaged (${detail.slice(0, 200)}); it was left untouched. ` +
      'To restore the last backup: stop Latent Atlas, move the data folder aside, and run `npm run restore -- <backup folder>`',
    { cause },
  );
}

export interface OpenDatabaseOptions {
  /**
   * Read every page first (`PRAGMA quick_check`: each page readable, each record well formed; a
   * fraction of integrity_check's time, but ~7 s for a 570 MB library of a million images on
   * loaded cores). Default false: a long-lived process checks once where it starts (npm start, the
   * worker, backups); a file that is not a database at all is reported on every open regardless.
   */
  check?: boolean;
}

/**
 * Opens (creating if needed) the database at `path`, optionally checks it (see
 * OpenDatabaseOptions.check) and brings its schema up to date. A damaged file is reported
 * (AppError 'damaged') and never written to.
 */
export function openDatabase(path: string, options: OpenDatabaseOptions = {}): Db {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  let db: Db;
  try {
    db = new Database(path);
  } catch (error) {
    throw new AppError('internal', 'cannot open the database', { cause: error });
  }
  try {
    db.pragma('busy_timeout = 5000');
    // Checked before anything writes: journal_mode = WAL on a foreign file would rewrite its header.
    db.pragma('schema_version'); // reads the header: SQLITE_NOTADB for a file that is not a database
    if (options.check) {
      const problems = db.pragma('quick_check(5)', { simple: false }) as { quick_check: string }[];
      const first = problems[0]?.quick_check ?? 'no answer';
      if (first !== 'ok') throw damagedDatabase(problems.map((p) => p.quick_check).join('; ') || first);
    }
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    migrate(db);
  } catch (error) {
    db.close();
    if (DAMAGED_CODES.has((error as { code?: string }).code ?? '')) throw damagedDatabase((error as Error).message, error);
    throw error;
  }
  return db;
}

function migrate(db: Db): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > SCHEMA_VERSION) {
    throw new AppError(
      'unsupported',
      `the database schema (version ${current}) is newer than this version of Latent Atlas (${SCHEMA_VERSION})`,
    );
  }
  for (let version = current; version < SCHEMA_VERSION; version++) {
    immediate(db, () => {
      db.exec(MIGRATIONS[version]!);
      db.pragma(`user_version = ${version + 1}`);
    });
  }
}

const statements = new WeakMap<Db, Map<string, Database.Statement>>();

/**
 * A prepared statement, compiled once per connection: the hot writes (a million inserts) and reads
 * (a page, an embedding per search) skip SQLite's parser after the first call.
 */
export function statement(db: Db, sql: string): Database.Statement {
  let cache = statements.get(db);
  if (!cache) statements.set(db, (cache = new Map()));
  let stmt = cache.get(sql);
  if (!stmt) cache.set(sql, (stmt = db.prepare(sql)));
  return stmt;
}

/**
 * How many rows of `table` (as `alias`) match `where` and belong to live images: all the matching
 * rows less those of deleted images. The deleted images are few and have their own index, so this
 * costs a count over `where`'s index plus one key lookup per deleted image, where a join with
 * images costs a lookup per row (about a second for a cluster of 180,000 at a million images).
 * `where` must pin the table's key up to `image_id` for those lookups (e.g. run_id = ?).
 */
export function liveCount(db: Db, table: string, alias: string, where: string, ...params: unknown[]): number {
  const all = statement(db, `SELECT count(*) FROM ${table} ${alias} WHERE ${where}`)
    .pluck()
    .get(...params) as number;
  const deleted = statement(
    db,
    `SELECT count(*) FROM images i CROSS JOIN ${table} ${alias} ON ${alias}.image_id = i.id WHERE i.deleted_at IS NOT NULL AND ${where}`,
  )
    .pluck()
    .get(...params) as number;
  return all - deleted;
}

/**
 * Runs `fn` in a `BEGIN IMMEDIATE` transaction (rolled back if it throws). A full disk
 * (SQLITE_FULL) becomes AppError('storage_full'): the transaction is rolled back, nothing changed.
 */
export function immediate<T>(db: Db, fn: () => T): T {
  try {
    return db.transaction(fn).immediate();
  } catch (error) {
    throw asStorageError(error);
  }
}

/**
 * A stamp that changes whenever anything was committed to the database, by this connection
 * (`total_changes()`) or by any other, in this process or another (`PRAGMA data_version`): what a
 * cache of counts over a million rows is keyed by.
 */
export function changeStamp(db: Db): string {
  return `${db.pragma('data_version', { simple: true }) as number}:${statement(db, 'SELECT total_changes()').pluck().get() as number}`;
}
