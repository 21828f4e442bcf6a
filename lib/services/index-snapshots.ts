/**
 * Snapshots of a model's index for remote workers. A run that searches the index on other machines
 * (the distributed near-duplicate search) writes a copy of it (VectorIndex.snapshot) under
 * `<indexDir>/snapshots/<run>/`, each file named with its sha-256; the app serves those files to
 * workers holding the token (GET /api/remote/snapshots/<run>/<file>), and the run removes the
 * folder when it ends. One run at a time per library: writing a snapshot removes what earlier runs
 * left (a job killed before its end).
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { AppError } from '../errors';
import type { ModelRecord } from '../store/models-repo';
import type { DistanceSpace } from '../vectors/distance';
import type { Library } from './library';
import { modelIndex } from './model-service';

export interface IndexSnapshot {
  /** The run it was written for (its folder). */
  run: string;
  /** The store generation the index reflected. */
  generation: number;
  dim: number;
  space: DistanceSpace;
  /** Its files, in the snapshot's folder. */
  files: { name: string; sha256: string }[];
}

const RUN = /^[a-z]+-\d+$/;
const FILE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function snapshotsDir(library: Library): string {
  return join(library.config.indexDir, 'snapshots');
}

async function sha256Of(path: string): Promise<string> {
  const digest = createHash('sha256');
  for await (const chunk of createReadStream(path)) digest.update(chunk as Buffer);
  return digest.digest('hex');
}

/**
 * Writes the index of `model`, in line with the store, as run `run`'s snapshot (removing earlier
 * runs' snapshots first). The index searched here and the snapshot answer every query alike.
 */
export async function writeIndexSnapshot(library: Library, model: ModelRecord, run: string): Promise<IndexSnapshot> {
  if (!RUN.test(run)) throw new AppError('internal', `bad snapshot run name ${run}`);
  removeIndexSnapshots(library);
  const opened = modelIndex(library, model);
  const dir = join(snapshotsDir(library), run);
  mkdirSync(dir, { recursive: true });
  const { generation } = opened;
  const names = opened.index.snapshot(snapshotIndexPath(dir), generation);
  const files = [];
  for (const name of names) files.push({ name, sha256: await sha256Of(join(dir, name)) });
  return { run, generation, dim: opened.index.dim, space: opened.index.space, files };
}

/** Removes every snapshot (a run's end, or before the next run writes its own). */
export function removeIndexSnapshots(library: Library): void {
  rmSync(snapshotsDir(library), { recursive: true, force: true });
}

/** Where a remote worker opens run `run`'s snapshot once its files are fetched into `dir`. */
export function snapshotIndexPath(dir: string): string {
  return join(dir, 'index');
}

/** One file of run `run`'s snapshot as a stream, with its size; AppError('not_found') when there is no such file (the run ended). */
export function snapshotFile(library: Library, run: string, name: string): { stream: ReadableStream<Uint8Array>; bytes: number } {
  if (!RUN.test(run) || !FILE.test(name)) throw new AppError('invalid_input', 'a snapshot file is named by a run and a plain file name');
  const path = join(snapshotsDir(library), run, name);
  if (!existsSync(path)) throw new AppError('not_found', `no snapshot file ${name} for run ${run} (the run has ended, or never wrote one)`);
  return { stream: Readable.toWeb(createReadStream(path)) as ReadableStream<Uint8Array>, bytes: statSync(path).size };
}
