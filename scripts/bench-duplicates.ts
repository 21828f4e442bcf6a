/**
 * npm run bench:duplicates — how far near-duplicates lie from their originals, measured against
 * the typical distance between unrelated images (the `reference` of findNearDuplicates): the
 * shared photos, plus resized (½ size) and recompressed (JPEG quality 40) copies of some of them,
 * in a fresh library, with a photo-cae trained on it for a few epochs (as a user would). Prints
 * one JSON line: copy and distinct-neighbour distances as fractions of the reference, and per
 * candidate fraction the copies found and the groups that join two different photos.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import sharp from 'sharp';
import { z } from 'zod';
import { parseConfig } from '../lib/config';
import { initEngine } from '../lib/engine/backend';
import { queueJob, runNextJob } from '../lib/jobs/job-service';
import { PRESETS } from '../lib/models/spec';
import { findNearDuplicates } from '../lib/services/duplicates-service';
import { ingestFolder, listImageFiles } from '../lib/services/ingest-service';
import { openLibrary } from '../lib/services/library';
import { loadActiveVectors } from '../lib/services/model-service';
import { parseOrThrow } from '../lib/validation';
import { runCli } from './cli/run';

const SHARED = new URL('../../shared/data/photos/', import.meta.url).pathname;
const FRACTIONS = [0.005, 0.01, 0.02, 0.03, 0.05, 0.1];

const args = parseOrThrow(
  z.object({ copies: z.coerce.number().int().min(1).default(20), epochs: z.coerce.number().int().min(1).default(3) }),
  Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('='))),
  'arguments',
);

const quantile = (values: number[], q: number) => [...values].sort((a, b) => a - b)[Math.floor(q * (values.length - 1))] ?? NaN;

await runCli(async () => {
  const engine = await initEngine();
  const work = mkdtempSync(join(tmpdir(), 'bench-duplicates-'));
  const folder = join(work, 'photos');
  mkdirSync(folder);
  try {
    const photos = (await listImageFiles(SHARED)).filter((f) => /\.(jpe?g|png)$/i.test(f));
    for (const file of photos) writeFileSync(join(folder, basename(file)), await readFile(file));
    const sources = photos.slice(0, args.copies);
    for (const file of sources) {
      const bytes = await readFile(file);
      const meta = await sharp(bytes).metadata();
      writeFileSync(
        join(folder, `resized-${basename(file)}.jpg`),
        await sharp(bytes)
          .rotate()
          .resize(Math.round((meta.width ?? 2) / 2))
          .jpeg({ quality: 85 })
          .toBuffer(),
      );
      writeFileSync(join(folder, `recompressed-${basename(file)}.jpg`), await sharp(bytes).rotate().jpeg({ quality: 40 }).toBuffer());
    }
    const library = openLibrary(parseConfig({ LATENT_ATLAS_DATA_DIR: join(work, 'data'), LATENT_ATLAS_WORKERS: '1' }));
    await ingestFolder(library, folder);
    queueJob(library, 'train', {
      data: 'library',
      spec: PRESETS['photo-cae'],
      options: { epochs: args.epochs, batchSize: 32, validationSplit: 0 },
      activate: true,
    });
    const trained = await runNextJob(library);
    if (trained?.state !== 'succeeded') throw new Error(`training failed: ${trained?.error}`);

    const { reference } = await findNearDuplicates(library);
    const { ids, data, dim } = loadActiveVectors(library);
    const names = new Map(
      (library.db.prepare('SELECT id, original_name AS name FROM images').all() as { id: number; name: string }[]).map((r) => [
        r.id,
        r.name,
      ]),
    );
    const photoOf = (id: number) =>
      names
        .get(id)!
        .replace(/^(resized|recompressed)-/, '')
        .replace(/\.jpg\.jpg$/, '.jpg');
    const distance = (a: number, b: number) => {
      let sum = 0;
      for (let d = 0; d < dim; d++) sum += (data[a * dim + d]! - data[b * dim + d]!) ** 2;
      return sum;
    };
    const copyRatios: number[] = [];
    const distinctRatios: number[] = [];
    for (let a = 0; a < ids.length; a++) {
      let nearestDistinct = Infinity;
      for (let b = 0; b < ids.length; b++) {
        if (a === b) continue;
        const same = photoOf(ids[a]!) === photoOf(ids[b]!);
        if (same && names.get(ids[b]!) === photoOf(ids[b]!) && names.get(ids[a]!) !== photoOf(ids[a]!))
          copyRatios.push(distance(a, b) / reference);
        if (!same) nearestDistinct = Math.min(nearestDistinct, distance(a, b));
      }
      distinctRatios.push(nearestDistinct / reference);
    }
    // The former default: 5 % of the median distance to the nearest neighbour (any image).
    const nearest = ids.map((_, a) => Math.min(...ids.map((__, b) => (a === b ? Infinity : distance(a, b)))));
    const formerThreshold = 0.05 * quantile(nearest, 0.5);
    const byFraction = [];
    for (const fraction of [...FRACTIONS, formerThreshold / reference]) {
      const { groups } = await findNearDuplicates(library, { fraction });
      const copiesFound = groups.reduce((n, g) => n + g.ids.filter((id) => names.get(id) !== photoOf(id)).length, 0);
      const mixed = groups.filter((g) => new Set(g.ids.map(photoOf)).size > 1).length;
      byFraction.push({
        fraction,
        former: fraction === formerThreshold / reference,
        groups: groups.length,
        copiesFound,
        copies: 2 * sources.length,
        groupsJoiningDistinctPhotos: mixed,
      });
    }
    console.log(
      JSON.stringify({
        backend: engine.backend,
        photos: photos.length,
        copies: 2 * sources.length,
        epochs: args.epochs,
        reference,
        copyToOriginal: { median: quantile(copyRatios, 0.5), max: Math.max(...copyRatios) },
        nearestDistinct: { min: Math.min(...distinctRatios), p05: quantile(distinctRatios, 0.05), median: quantile(distinctRatios, 0.5) },
        byFraction,
      }),
    );
    library.close();
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
