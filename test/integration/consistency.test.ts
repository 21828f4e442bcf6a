/**
 * What the crash loop (test/crash/crash-loop.ts) found, pinned down: two processes share one
 * library (the web server uploads and deletes, the worker embeds and ingests), and neither may
 * undo the other's work — a vector computed before a delete must not bring the image back, an
 * index must not claim changes it never saw, images that raced a model switch get embedded, and
 * the temp files of a killed writer are swept.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { listJobs } from '../../lib/store/jobs-repo';
import { iterateEmbeddings, putEmbedding } from '../../lib/store/embeddings-repo';
import { deleteImage } from '../../lib/store/images-repo';
import { activeModel } from '../../lib/store/models-repo';
import { queueCatchUp } from '../../lib/jobs/job-service';
import { embedMissing, ingestFolder, ingestSources } from '../../lib/services/ingest-service';
import { processAlive, processRunningSince } from '../../lib/processes';
import { removeOrphanedTempFiles, type Library } from '../../lib/services/library';
import { forgetOpenIndexes, openModelIndex } from '../../lib/services/model-service';
import { startWasm } from '../helpers/engine';
import { fashionFolder, tempLibrary } from '../helpers/library';

let library: Library;
let dataDir: string;
let folder: string;

beforeAll(async () => {
  await startWasm();
  ({ library, dataDir } = await tempLibrary());
  folder = await fashionFolder(120);
  await ingestFolder(library, folder);
});
afterAll(() => {
  library.close();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(folder, { recursive: true, force: true });
});

const ids = (modelId: number) => new Set([...iterateEmbeddings(library.db, modelId, 16)].map((e) => e.imageId));

it('a vector is stored only for a live image: one computed before a delete does not bring it back', () => {
  const model = activeModel(library.db)!;
  const [id] = [...ids(model.id)];
  const vector = new Float32Array(16).fill(0.5);
  expect(deleteImage(library.db, id!)).toBe(true);
  expect(putEmbedding(library.db, id!, model.id, vector)).toBe(false);
  expect(ids(model.id).has(id!)).toBe(false);
});

it('an index saved after another process changed the store is reconciled on the next open, not trusted', async () => {
  const model = activeModel(library.db)!;
  forgetOpenIndexes();
  const victim = [...ids(model.id)][3]!;
  const png = await sharp(Buffer.alloc(28 * 28, 77), { raw: { width: 28, height: 28, channels: 1 } })
    .png()
    .toBuffer();
  // While this process ingests (its index open and current), "another process" deletes an image:
  // the store moves on, this process's index never hears of it, then it saves.
  const source = {
    name: 'new.png',
    read: async () => {
      deleteImage(library.db, victim);
      return new Uint8Array(png);
    },
  };
  const report = await ingestSources(library, [source]);
  expect(report.added).toBe(1);
  forgetOpenIndexes();
  const reopened = openModelIndex(library, model);
  expect(reopened.reconciled || reopened.rebuilt).toBe(true);
  expect(reopened.index.ids().has(victim)).toBe(false);
  expect(reopened.index.ids()).toEqual(ids(model.id));
  forgetOpenIndexes();
});

it('live images without a vector under the active model get an embed job, once per new count', async () => {
  const model = activeModel(library.db)!;
  const [id] = [...ids(model.id)];
  library.db.prepare('DELETE FROM embeddings WHERE image_id = ? AND model_id = ?').run(id, model.id); // as if it raced a switch
  const seen = queueCatchUp(library, -1);
  expect(seen).toBe(1);
  const queued = listJobs(library.db, { states: ['queued'] }).filter((j) => j.kind === 'embed');
  expect(queued).toHaveLength(1);
  expect(queueCatchUp(library, seen)).toBe(1);
  expect(listJobs(library.db, { states: ['queued'] }).filter((j) => j.kind === 'embed')).toHaveLength(1);
  await embedMissing(library);
  expect(ids(model.id).has(id!)).toBe(true);
  expect(queueCatchUp(library, seen)).toBe(0);
});

it("sweeps the temp files of killed writers and leaves live processes' alone", async () => {
  const { originalsDir, indexDir } = library.config;
  mkdirSync(join(originalsDir, 'ab'), { recursive: true });
  const dead = 2 ** 22 + 12345; // above the default pid_max: no such process
  writeFileSync(join(originalsDir, 'ab', `abcd.tmp-${dead}-x1`), 'partial');
  writeFileSync(join(indexDir, `.model-1.hnsw.tmp-${dead}`), 'partial');
  writeFileSync(join(indexDir, `.model-1.json.tmp-${process.pid}`), 'being written');
  expect(await removeOrphanedTempFiles(library.config)).toBe(2);
  expect(readdirSync(join(originalsDir, 'ab'))).not.toContain(`abcd.tmp-${dead}-x1`);
  expect(readdirSync(indexDir)).toContain(`.model-1.json.tmp-${process.pid}`);
  rmSync(join(indexDir, `.model-1.json.tmp-${process.pid}`));
});

it('a model directory caught mid-swap by a kill gets its name back: the complete new copy, else the old one', async () => {
  const { modelsDir } = library.config;
  const dead = 2 ** 22 + 777;
  const manifest = (version: number) => JSON.stringify({ version });
  // Killed after moving the old copy aside, before moving the new one in: the new one is complete.
  mkdirSync(join(modelsDir, `.swapped.tmp-${dead}-1`), { recursive: true });
  writeFileSync(join(modelsDir, `.swapped.tmp-${dead}-1`, 'weights.bin'), 'new');
  writeFileSync(join(modelsDir, `.swapped.tmp-${dead}-1`, 'model.json'), manifest(2));
  mkdirSync(join(modelsDir, `.swapped.tmp-${dead}-1-old`));
  writeFileSync(join(modelsDir, `.swapped.tmp-${dead}-1-old`, 'model.json'), manifest(1));
  // Killed while writing the new copy (no model.json yet), after moving the old one aside: the old one returns.
  mkdirSync(join(modelsDir, `.half.tmp-${dead}-2`));
  writeFileSync(join(modelsDir, `.half.tmp-${dead}-2`, 'weights.bin'), 'partial');
  mkdirSync(join(modelsDir, `.half.tmp-${dead}-2-old`));
  writeFileSync(join(modelsDir, `.half.tmp-${dead}-2-old`, 'model.json'), manifest(1));
  await removeOrphanedTempFiles(library.config);
  expect(readFileSync(join(modelsDir, 'swapped', 'model.json'), 'utf8')).toBe(manifest(2));
  expect(readFileSync(join(modelsDir, 'half', 'model.json'), 'utf8')).toBe(manifest(1));
  expect(readdirSync(modelsDir).filter((n) => n.includes('.tmp-'))).toEqual([]);
});

it('a pid counts as the same process only if that process already ran then (pids are reused after a kill)', () => {
  expect(processRunningSince(process.pid, Date.now())).toBe(true);
  expect(processRunningSince(process.pid, Date.now() - process.uptime() * 1000 - 60_000)).toBe(false); // before it started
  expect(processRunningSince(2 ** 22 + 99, Date.now())).toBe(false);
});

it('a zombie (killed, never reaped) does not count as running', async () => {
  // `sleep 0` exits at once; its parent turns into `sleep 5` and never reaps it.
  const parent = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 5'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const zombie = Number(await new Promise<string>((resolve) => parent.stdout.once('data', (d: Buffer) => resolve(d.toString()))));
  await new Promise((r) => setTimeout(r, 300));
  try {
    expect(() => process.kill(zombie, 0)).not.toThrow(); // the kernel still knows the pid…
    expect(processAlive(zombie)).toBe(false); // …but nothing runs there
    expect(processAlive(parent.pid!)).toBe(true);
  } finally {
    parent.kill('SIGKILL');
  }
});
