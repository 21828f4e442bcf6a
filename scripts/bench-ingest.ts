/**
 * npm run bench:ingest — end-to-end ingest speed (read, decode, preprocess, embed, store, index)
 * on the real photos and chest X-rays in ../shared/data, next to sharp alone decoding and
 * resizing the same files with the same concurrency, in the same run. One JSON line. Besides
 * images per second (wall clock), each side's CPU time per image (this process, every thread:
 * sharp's too): on cores shared with other work the wall-clock ratio swings with the neighbours,
 * the CPU ratio does not.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { parseConfig } from '../lib/config';
import { initEngine } from '../lib/engine/backend';
import { Autoencoder } from '../lib/models/autoencoder';
import { saveModel } from '../lib/models/model-io';
import { parseModelSpec } from '../lib/models/spec';
import { ingestFolder, listImageFiles } from '../lib/services/ingest-service';
import { openLibrary } from '../lib/services/library';
import { registerModelDir } from '../lib/services/model-service';
import { runCli } from './cli/run';

const SHARED = new URL('../../shared/data/', import.meta.url).pathname;
const SIZE = 64;
const CONCURRENCY = 4;

const cpuMs = (since?: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
};

/** sharp alone: read, decode (EXIF-rotated) and resize every image to the model input. Images per second and CPU ms per image. */
async function sharpAlone(files: string[]): Promise<{ rate: number; cpuMsPerImage: number }> {
  const cpu = process.cpuUsage();
  let next = 0;
  let decoded = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < files.length) {
        const bytes = await readFile(files[next++]!);
        try {
          await sharp(bytes, { failOn: 'error' }).rotate().resize(SIZE, SIZE, { fit: 'cover' }).toColourspace('b-w').raw().toBuffer();
          decoded++;
        } catch {
          // not an image (labels.csv, ATTRIBUTION.md)
        }
      }
    }),
  );
  return { rate: decoded / ((performance.now() - started) / 1000), cpuMsPerImage: cpuMs(cpu) / Math.max(1, decoded) };
}

await runCli(async () => {
  const engine = await initEngine(parseConfig().backend);
  const line: Record<string, unknown> = { backend: engine.backend, input: `${SIZE}x${SIZE}x1`, concurrency: CONCURRENCY };
  for (const name of ['photos', 'chest-xray']) {
    const folder = join(SHARED, name);
    const files = await listImageFiles(folder);
    await sharpAlone(files.slice(0, 10)); // warm-up
    const alone = await sharpAlone(files);
    const dataDir = mkdtempSync(join(tmpdir(), 'latent-atlas-bench-'));
    const library = openLibrary(parseConfig({ LATENT_ATLAS_DATA_DIR: dataDir }));
    try {
      const model = Autoencoder.create(
        parseModelSpec({ arch: 'conv', inputShape: [SIZE, SIZE, 1], latentSize: 64, filters: [16, 32, 64] }),
      );
      await saveModel(model, join(library.config.modelsDir, 'bench'));
      model.dispose();
      await registerModelDir(library, join(library.config.modelsDir, 'bench'));
      const cpu = process.cpuUsage();
      const report = await ingestFolder(library, folder, { concurrency: CONCURRENCY });
      const ingestCpu = cpuMs(cpu) / Math.max(1, report.added);
      const ingestRate = report.added / report.seconds;
      line[name.replace('-', '_')] = {
        n: report.added,
        refused: report.skipped.length,
        ingest_img_s: Math.round(ingestRate * 10) / 10,
        sharp_img_s: Math.round(alone.rate * 10) / 10,
        ratio: Number((ingestRate / alone.rate).toFixed(2)),
        ingest_cpu_ms_per_img: Number(ingestCpu.toFixed(2)),
        sharp_cpu_ms_per_img: Number(alone.cpuMsPerImage.toFixed(2)),
        cpu_ratio: Number((alone.cpuMsPerImage / ingestCpu).toFixed(2)),
      };
    } finally {
      library.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
  const parts = ['photos', 'chest_xray'].map((k) => line[k] as { ingest_img_s: number; sharp_img_s: number; n: number });
  line.ingest_img_s = parts[0]!.ingest_img_s;
  line.sharp_img_s = parts[0]!.sharp_img_s;
  console.log(JSON.stringify(line));
});
