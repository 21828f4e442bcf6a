/**
 * npm run bench:ingest — end-to-end ingest speed (read, hash, decode, preprocess, embed, store,
 * index) on the real photos and chest X-rays in ../shared/data, next to sharp alone on the same
 * files, in the same run. The reference, exactly: read each file, decode it with sharp
 * (EXIF-rotated, `failOn: 'error'`), resize it to the model input (64×64, cover crop, grey) and
 * take the raw pixels — 4 files at a time (libuv's default pool of 4 threads is what runs sharp's
 * pipelines; more in flight would only queue), sharp's default libvips threads and cache; files
 * sharp refuses are not counted. Ingest runs twice per round: with decoding in the decoder
 * processes (the default, LATENT_ATLAS_DECODERS=2) and in-process (LATENT_ATLAS_DECODERS=0),
 * each into a fresh library under the same model, 4 files at a time.
 *
 * Rounds are interleaved (sharp alone, isolated ingest, in-process ingest, again…) and each
 * ratio is taken within its round, so a burst of load from other work hits all three alike; the
 * medians are reported. Besides images per second (wall clock), each side's CPU time per image
 * (this process, every thread, plus the decoder processes): on shared cores the wall-clock ratio
 * swings with the neighbours, the CPU ratio does not; and the cores each side kept busy (CPU over
 * wall time), which shows whether its work overlapped across both; and, for the isolated ingest,
 * the decoder processes' share of its CPU (the rest is this process: read, hash, embed, store).
 * The decoder processes are started (and the engine warmed) before the first round, as in a
 * running app; their start-up is reported. One JSON line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import sharp from 'sharp';
import { parseConfig, type Config } from '../lib/config';
import { initEngine } from '../lib/engine/backend';
import { Autoencoder } from '../lib/models/autoencoder';
import { saveModel } from '../lib/models/model-io';
import { parseModelSpec } from '../lib/models/spec';
import { decoderPool } from '../lib/services/decoding';
import { ingestFolder, listImageFiles } from '../lib/services/ingest-service';
import { openLibrary } from '../lib/services/library';
import { registerModelDir } from '../lib/services/model-service';
import { runCli, wholeFlag } from './cli/run';

const SHARED = new URL('../../shared/data/', import.meta.url).pathname;
const SIZE = 64;
const CONCURRENCY = 4;

const program = new Command('bench:ingest').option(
  '--rounds <n>',
  'interleaved rounds per folder (medians reported)',
  wholeFlag('--rounds'),
  3,
);

interface Side {
  rate: number;
  cpuMsPerImage: number;
  /** CPU time over wall time: how many cores the side kept busy. */
  cores: number;
}

const cpuMs = (since?: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1000;
};

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const round1 = (v: number) => Math.round(v * 10) / 10;
const round2 = (v: number) => Number(v.toFixed(2));

/** sharp alone (the reference described above). */
async function sharpAlone(files: string[]): Promise<Side & { decoded: number }> {
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
          // not an image sharp reads (the one corrupt file of each folder)
        }
      }
    }),
  );
  const wallMs = performance.now() - started;
  return { rate: decoded / (wallMs / 1000), cpuMsPerImage: cpuMs(cpu) / Math.max(1, decoded), cores: cpuMs(cpu) / wallMs, decoded };
}

/** One ingest of `folder` into a fresh library with the bench model; `decoders` 0 decodes in-process. */
async function ingestOnce(
  folder: string,
  decoders: number,
): Promise<Side & { added: number; refused: number; decoderCpuMsPerImage: number }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'latent-atlas-bench-'));
  const config: Readonly<Config> = parseConfig({ LATENT_ATLAS_DATA_DIR: dataDir, LATENT_ATLAS_DECODERS: String(decoders) });
  const library = openLibrary(config);
  try {
    const model = Autoencoder.create(parseModelSpec({ arch: 'conv', inputShape: [SIZE, SIZE, 1], latentSize: 64, filters: [16, 32, 64] }));
    await saveModel(model, join(config.modelsDir, 'bench'));
    model.dispose();
    await registerModelDir(library, join(config.modelsDir, 'bench'));
    const pool = decoderPool(config);
    const cpu = process.cpuUsage();
    const childCpu = pool?.cpuMs() ?? 0;
    const started = performance.now();
    const report = await ingestFolder(library, folder, { concurrency: CONCURRENCY });
    const wallMs = performance.now() - started;
    const decoderCpu = pool ? pool.cpuMs() - childCpu : 0;
    const used = cpuMs(cpu) + decoderCpu;
    return {
      rate: report.added / report.seconds,
      cores: used / wallMs,
      cpuMsPerImage: used / Math.max(1, report.added),
      decoderCpuMsPerImage: decoderCpu / Math.max(1, report.added),
      added: report.added,
      refused: report.skipped.length,
    };
  } finally {
    library.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await runCli(async () => {
  const { rounds } = program.parse().opts<{ rounds: number }>();
  const engine = await initEngine(parseConfig().backend);
  const load = () => loadavg().map(round2);
  const line: Record<string, unknown> = {
    backend: engine.backend,
    input: `${SIZE}x${SIZE}x1`,
    concurrency: CONCURRENCY,
    rounds,
    load_before: load(),
  };
  // The decoder processes start once per process (as in the running app), before any timing.
  const startedAt = performance.now();
  const pool = decoderPool(parseConfig({ LATENT_ATLAS_DECODERS: '2' }))!;
  await pool.ready();
  line.decoder_processes = pool.pids().length;
  line.decoder_start_ms = Math.round(performance.now() - startedAt);
  for (const name of ['photos', 'chest-xray']) {
    const folder = join(SHARED, name);
    const files = await listImageFiles(folder);
    await sharpAlone(files.slice(0, 10)); // warm-up: sharp's library loaded, as the ingest's is
    await ingestOnce(folder, 2); // warm-up: the engine's kernels for this model made once
    const per: { sharp: Side; isolated: Side & { added: number; refused: number; decoderCpuMsPerImage: number }; inProcess: Side }[] = [];
    for (let r = 0; r < rounds; r++) {
      const alone = await sharpAlone(files);
      const isolated = await ingestOnce(folder, 2);
      const inProcess = await ingestOnce(folder, 0);
      per.push({ sharp: alone, isolated, inProcess });
    }
    const med = (pick: (p: (typeof per)[number]) => number) => median(per.map(pick));
    line[name.replace('-', '_')] = {
      n: per[0]!.isolated.added,
      refused: per[0]!.isolated.refused,
      sharp_img_s: round1(med((p) => p.sharp.rate)),
      ingest_img_s: round1(med((p) => p.isolated.rate)),
      ratio: round2(med((p) => p.isolated.rate / p.sharp.rate)),
      inprocess_img_s: round1(med((p) => p.inProcess.rate)),
      inprocess_ratio: round2(med((p) => p.inProcess.rate / p.sharp.rate)),
      sharp_cpu_ms_per_img: round2(med((p) => p.sharp.cpuMsPerImage)),
      ingest_cpu_ms_per_img: round2(med((p) => p.isolated.cpuMsPerImage)),
      // Of which the decoder processes (the rest is this process: read, hash, embed, store, index).
      ingest_decoder_cpu_ms_per_img: round2(med((p) => p.isolated.decoderCpuMsPerImage)),
      inprocess_cpu_ms_per_img: round2(med((p) => p.inProcess.cpuMsPerImage)),
      cpu_ratio: round2(med((p) => p.sharp.cpuMsPerImage / p.isolated.cpuMsPerImage)),
      sharp_cores: round2(med((p) => p.sharp.cores)),
      ingest_cores: round2(med((p) => p.isolated.cores)),
      inprocess_cores: round2(med((p) => p.inProcess.cores)),
      rounds: per.map((p) => [round1(p.sharp.rate), round1(p.isolated.rate), round1(p.inProcess.rate)]),
    };
  }
  line.load_after = load();
  const photos = line.photos as { ingest_img_s: number; sharp_img_s: number };
  line.ingest_img_s = photos.ingest_img_s;
  line.sharp_img_s = photos.sharp_img_s;
  await pool.close();
  console.log(JSON.stringify(line));
});
