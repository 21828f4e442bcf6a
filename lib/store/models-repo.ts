/**
 * Models registered in the store, one of them active. `index_generation` counts changes to a
 * model's embeddings; an index file that recorded another generation is stale.
 */
import { AppError } from '../errors';
import { immediate, statement, type Db } from './database';

export interface ModelRecord {
  id: number;
  name: string;
  dir: string;
  spec: unknown;
  latentSize: number;
  active: boolean;
  indexGeneration: number;
  training: unknown;
  createdAt: string;
}

interface Row {
  id: number;
  name: string;
  dir: string;
  spec: string;
  latent_size: number;
  active: number;
  index_generation: number;
  training: string | null;
  created_at: string;
}

const toRecord = (r: Row): ModelRecord => ({
  id: r.id,
  name: r.name,
  dir: r.dir,
  spec: JSON.parse(r.spec),
  latentSize: r.latent_size,
  active: r.active === 1,
  indexGeneration: r.index_generation,
  training: r.training ? JSON.parse(r.training) : null,
  createdAt: r.created_at,
});

/**
 * Registers a model. `inputVersion`: the model-input preparation its vectors will be made with
 * (image-decoder.ts MODEL_INPUT_VERSION; the store does not import the decoder).
 */
export function registerModel(
  db: Db,
  model: { name: string; dir: string; spec: unknown; latentSize: number; training?: unknown; inputVersion: number },
): ModelRecord {
  return immediate(db, () => {
    const existing = db.prepare('SELECT * FROM models WHERE name = ?').get(model.name) as Row | undefined;
    if (existing) throw new AppError('conflict', `a model named '${model.name}' is already registered`);
    const result = db
      .prepare(
        'INSERT INTO models (name, dir, spec, latent_size, training, vectors_input_version, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      )
      .run(
        model.name,
        model.dir,
        JSON.stringify(model.spec),
        model.latentSize,
        model.training === undefined ? null : JSON.stringify(model.training),
        model.inputVersion,
        new Date().toISOString(),
      );
    return toRecord(db.prepare('SELECT * FROM models WHERE id = ?').get(result.lastInsertRowid) as Row);
  });
}

export function listModels(db: Db): ModelRecord[] {
  return (db.prepare('SELECT * FROM models ORDER BY id').all() as Row[]).map(toRecord);
}

export function getModel(db: Db, id: number): ModelRecord | null {
  const row = statement(db, 'SELECT * FROM models WHERE id = ?').get(id) as Row | undefined;
  return row ? toRecord(row) : null;
}

export function findModelByName(db: Db, name: string): ModelRecord | null {
  const row = statement(db, 'SELECT * FROM models WHERE name = ?').get(name) as Row | undefined;
  return row ? toRecord(row) : null;
}

export function activeModel(db: Db): ModelRecord | null {
  const row = statement(db, 'SELECT * FROM models WHERE active = 1').get() as Row | undefined;
  return row ? toRecord(row) : null;
}

export function activateModel(db: Db, id: number): void {
  immediate(db, () => {
    if (!db.prepare('SELECT 1 FROM models WHERE id = ?').get(id)) throw new AppError('not_found', `no model with id ${id}`);
    db.prepare('UPDATE models SET active = 0 WHERE active = 1').run();
    db.prepare('UPDATE models SET active = 1 WHERE id = ?').run(id);
  });
}

/** Increments and returns a model's index generation (call inside the transaction that changes embeddings). */
export function bumpIndexGeneration(db: Db, modelId: number): number {
  statement(db, 'UPDATE models SET index_generation = index_generation + 1 WHERE id = ?').run(modelId);
  return indexGeneration(db, modelId);
}

/** Bumped when a model's stored vectors were replaced in place (not only added or removed). */
export function bumpVectorsEpoch(db: Db, modelId: number): void {
  statement(db, 'UPDATE models SET vectors_epoch = vectors_epoch + 1 WHERE id = ?').run(modelId);
}

export function vectorsEpoch(db: Db, modelId: number): number {
  return (statement(db, 'SELECT vectors_epoch FROM models WHERE id = ?').pluck().get(modelId) as number | undefined) ?? 0;
}

/** The model-input preparation version (image-decoder.ts MODEL_INPUT_VERSION) a model's stored vectors were made with. */
export function vectorsInputVersion(db: Db, modelId: number): number {
  return (statement(db, 'SELECT vectors_input_version FROM models WHERE id = ?').pluck().get(modelId) as number | undefined) ?? 1;
}

/** Records that every stored vector of a model is now made with preparation `version` (a completed re-embed). */
export function setVectorsInputVersion(db: Db, modelId: number, version: number): void {
  statement(db, 'UPDATE models SET vectors_input_version = ? WHERE id = ?').run(version, modelId);
}

export function indexGeneration(db: Db, modelId: number): number {
  return (statement(db, 'SELECT index_generation FROM models WHERE id = ?').pluck().get(modelId) as number | undefined) ?? 0;
}

/** Points a model's row at the folder its files now live in (a restored library in another place). */
export function setModelDir(db: Db, id: number, dir: string): void {
  db.prepare('UPDATE models SET dir = ? WHERE id = ?').run(dir, id);
}
