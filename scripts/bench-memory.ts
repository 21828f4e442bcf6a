/**
 * npm run bench:memory -- [--clients 20] [--mb 48] [--bombs 10] [--compare]
 * Memory under concurrency (issue 18, item 4): the built app (run `npm run build` first) on a
 * fresh library with a small active model, `--clients` uploads of distinct `--mb` MB images (16-bit
 * greyscale TIFF of noise: no compression to shrink them) sent at once, with `--bombs`
 * decompression bombs alongside (PNG of 10,000 × 10,000 zero pixels: ~100 kB that decode to
 * 100 MP, just inside the pixel limit). Then every accepted upload is looked for in the library.
 * One JSON line: the server's peak resident memory (VmHWM), uploads accepted, refused (503 with
 * Retry-After) and lost (accepted but not stored), other answers, and latencies (the ones that
 * waited their turn take longer). `--compare` runs the same load a second time with the upload
 * memory limit lifted, to show what it saves, in the same run.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import sharp from 'sharp';
import { parseConfig } from '../lib/config';
import { initEngine } from '../lib/engine/backend';
import { openLibrary } from '../lib/services/library';
import { tiff16 } from '../test/helpers/files';
import { addModel } from '../test/helpers/library';
import { runCli, wholeFlag } from './cli/run';
import { WebProcess } from './cli/web-process';

const program = new Command('bench:memory')
  .option('--clients <n>', 'large uploads sent at once', wholeFlag('--clients', 1), 20)
  .option('--mb <n>', 'size of each large upload in MB (under LATENT_ATLAS_MAX_UPLOAD_MB, default 50 MiB)', wholeFlag('--mb', 1), 48)
  .option('--bombs <n>', 'decompression bombs sent alongside', wholeFlag('--bombs', 0), 10)
  .option('--port <n>', 'port', wholeFlag('--port', 1), 3921)
  .option('--compare', 'run the load again with the upload memory limit lifted');

interface Outcome {
  kind: 'large' | 'bomb';
  status: number | 'no-response';
  id?: number;
  ms: number;
  retryAfter: string | null;
  error?: string;
}

async function upload(base: string, kind: Outcome['kind'], name: string, bytes: Uint8Array): Promise<Outcome> {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(bytes)]), name);
  const started = performance.now();
  try {
    const response = await fetch(`${base}/api/images`, { method: 'POST', body: form, signal: AbortSignal.timeout(600_000) });
    const body = (await response.json()) as { results?: { id?: number; status: string }[] };
    const id = body.results?.[0]?.id;
    return {
      kind,
      status: response.status,
      ...(id ? { id } : {}),
      ms: performance.now() - started,
      retryAfter: response.headers.get('retry-after'),
    };
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    return {
      kind,
      status: 'no-response',
      ms: performance.now() - started,
      retryAfter: null,
      error: `${String(error)} ${cause?.code ?? ''} ${cause?.message ?? ''}`,
    };
  }
}

async function run(o: { clients: number; mb: number; bombs: number; port: number }, env: Record<string, string>, bombs: Uint8Array[]) {
  const dataDir = mkdtempSync(join(tmpdir(), 'atlas-memory-'));
  const library = openLibrary(parseConfig({ LATENT_ATLAS_DATA_DIR: dataDir }));
  await addModel(library, 'memory', 8, true);
  library.close();
  const server = new WebProcess(dataDir, o.port, env);
  try {
    await server.start();
    const side = Math.floor(Math.sqrt((o.mb * 1e6) / 2)); // 16-bit greyscale: 2 bytes a pixel
    const noise = new Uint16Array(side * side);
    for (let i = 0; i < noise.length; i++) noise[i] = (Math.imul(i, 2654435761) >>> 16) & 0xffff;
    const files = Array.from({ length: o.clients }, (_, c) => {
      noise[0] = c; // distinct content, distinct images
      return tiff16(noise, side, side);
    });
    const started = performance.now();
    const outcomes = await Promise.all([
      ...files.map((bytes, c) => upload(server.base, 'large', `large-${c}.tiff`, bytes)),
      ...bombs.map((bytes, b) => upload(server.base, 'bomb', `bomb-${b}.png`, bytes)),
    ]);
    const seconds = (performance.now() - started) / 1000;
    const listing = (await (await fetch(`${server.base}/api/images?limit=500`)).json()) as { images: { id: number }[] };
    const stored = new Set(listing.images.map((i) => i.id));
    const accepted = outcomes.filter((x) => x.status === 200);
    const latencies = accepted.map((x) => Math.round(x.ms)).sort((a, b) => a - b);
    const tally = (kind: Outcome['kind']) => {
      const counts: Record<string, number> = {};
      for (const x of outcomes.filter((y) => y.kind === kind)) counts[String(x.status)] = (counts[String(x.status)] ?? 0) + 1;
      return counts;
    };
    return {
      peak_rss_mb: Math.round(Math.max(server.peakMb, 0)),
      server_deaths: server.deaths + (server.alive() ? 0 : 1),
      large_uploads: tally('large'),
      bomb_uploads: tally('bomb'),
      accepted: accepted.length,
      refused_503: outcomes.filter((x) => x.status === 503).length,
      refused_with_retry_after: outcomes.filter((x) => x.status === 503 && x.retryAfter).length,
      lost: accepted.filter((x) => x.id !== undefined && !stored.has(x.id)).length,
      errors: [...new Set(outcomes.flatMap((x) => (x.error ? [x.error] : [])))].slice(0, 5),
      accepted_ms: { min: latencies[0] ?? 0, median: latencies[Math.floor(latencies.length / 2)] ?? 0, max: latencies.at(-1) ?? 0 },
      seconds: Math.round(seconds * 10) / 10,
    };
  } finally {
    server.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await runCli(async () => {
  program.parse();
  const o = program.opts<{ clients: number; mb: number; bombs: number; port: number; compare?: boolean }>();
  await initEngine('wasm');
  // Each bomb a distinct image (its own flat colour), so none is a duplicate of another.
  const bombs: Uint8Array[] = [];
  for (let b = 0; b < o.bombs; b++)
    bombs.push(
      new Uint8Array(
        await sharp({ create: { width: 10_000, height: 10_000, channels: 3, background: { r: b, g: 0, b: 0 } } })
          .png({ compressionLevel: 9 })
          .toBuffer(),
      ),
    );
  const gated = await run(o, {}, bombs);
  const ungated = o.compare ? await run(o, { LATENT_ATLAS_UPLOAD_MEMORY_MB: '65536' }, bombs) : undefined;
  process.stdout.write(
    `${JSON.stringify({
      clients: o.clients,
      mb_each: o.mb,
      bombs: o.bombs,
      bomb_bytes: bombs[0]?.length ?? 0,
      upload_memory_mb: parseConfig().uploadMemory.bytes / 1024 / 1024,
      ...gated,
      ...(ungated ? { without_upload_memory_limit: ungated } : {}),
    })}\n`,
  );
});
