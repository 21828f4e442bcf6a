/**
 * npm run bench:load [-- --images 50000 --seconds 60 --connections 8]
 * Starts the built web app on loopback over a fresh library of Fashion-MNIST images (embedded by a
 * reference-CAE-shaped model: serving speed does not depend on its training) and drives it with
 * autocannon — search by stored id, then a mix of search by id, search by upload and listing —
 * while uploads of new images run alongside. Prints one JSON line: requests/s, p50/p99 latency,
 * errors, timeouts, and the server's resident memory: at the start and the end, every 10 s, and the
 * slope over the second half (flat ≈ 0 MB/min; the issue asks for a 10-minute run: --seconds 600).
 *
 * `--slow-clients 500` (npm run bench:slowloris) adds a third phase: search by id again while that
 * many connections trickle headers or an upload's body one byte a second (reconnecting when the
 * server cuts them off), so the JSON holds search p99 with and without slow clients from one run.
 */
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { Command } from 'commander';
import sharp from 'sharp';
import { parseConfig } from '../lib/config';
import { loadFashionMnist } from '../lib/data/fashion-mnist';
import { initEngine } from '../lib/engine/backend';
import { Autoencoder } from '../lib/models/autoencoder';
import { saveModel } from '../lib/models/model-io';
import { presetSpec } from '../lib/models/spec';
import { ingestSources } from '../lib/services/ingest-service';
import { openLibrary } from '../lib/services/library';
import { registerModelDir } from '../lib/services/model-service';
import { runCli } from './cli/run';

const WEB_SERVER = fileURLToPath(new URL('./web-server.ts', import.meta.url));

const program = new Command('bench:load')
  .option('--images <n>', 'library size (Fashion-MNIST train images)', '50000')
  .option('--seconds <n>', 'load duration in total (half by-id search, half mixed)', '60')
  .option('--connections <n>', 'concurrent connections', '8')
  .option('--port <n>', 'port', '3917')
  .option('--slow-clients <n>', 'connections trickling a byte a second during a third phase (0: none)', '0');

const png = (pixels: Uint8Array) =>
  sharp(pixels, { raw: { width: 28, height: 28, channels: 1 } })
    .png()
    .toBuffer();
/** CPU seconds (user + system) a process has used: what a phase cost the server, whatever else shares the cores. */
const cpuSeconds = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks of 1/100 s
};
const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

function multipart(bytes: Buffer, fields: Record<string, string>): { body: Buffer; type: string } {
  const boundary = `----atlas${Math.random().toString(16).slice(2)}`;
  const parts = Object.entries(fields).map(([k, v]) =>
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`),
  );
  const file = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="q.png"\r\nContent-Type: image/png\r\n\r\n`,
  );
  return {
    body: Buffer.concat([...parts, file, bytes, Buffer.from(`\r\n--${boundary}--\r\n`)]),
    type: `multipart/form-data; boundary=${boundary}`,
  };
}

function summary(r: autocannon.Result) {
  return {
    rps: Math.round(r.requests.average),
    p50_ms: r.latency.p50,
    p99_ms: r.latency.p99,
    errors: r.errors + r.non2xx,
    timeouts: r.timeouts,
    requests: r.requests.total,
  };
}

/** Least-squares slope of mb over t (MB per minute); 0 with fewer than two samples. */
function slope(points: { t: number; mb: number }[]): number {
  if (points.length < 2) return 0;
  const mt = points.reduce((a, p) => a + p.t, 0) / points.length;
  const mm = points.reduce((a, p) => a + p.mb, 0) / points.length;
  const num = points.reduce((a, p) => a + (p.t - mt) * (p.mb - mm), 0);
  const den = points.reduce((a, p) => a + (p.t - mt) ** 2, 0);
  return den ? num / den : 0;
}

const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

/**
 * `count` slowloris connections to `port`: a third trickle headers, the rest an upload's body, one
 * byte a second each; one the server closes is opened again. `stop()` ends them and says how many
 * connections were opened and how many of those the server cut off.
 */
function slowClients(port: number, count: number): { stop: () => { connections: number; cut_off_by_server: number } } {
  let connections = 0;
  let cutOff = 0;
  let stopped = false;
  const sockets = new Set<ReturnType<typeof connect>>();
  const open = (i: number) => {
    connections++;
    const head =
      i % 3 === 0
        ? 'GET /api/images HTTP/1.1\r\nHost: atlas\r\nX-Slow: '
        : 'POST /api/images HTTP/1.1\r\nHost: atlas\r\nContent-Type: multipart/form-data; boundary=x\r\nContent-Length: 1000000\r\n\r\n--x\r\n';
    const socket = connect(port, '127.0.0.1', () => socket.write(head));
    sockets.add(socket);
    const timer = setInterval(() => socket.writable && socket.write('a'), 1000);
    socket.on('error', () => {});
    socket.on('close', () => {
      clearInterval(timer);
      sockets.delete(socket);
      if (stopped) return;
      cutOff++;
      open(i);
    });
  };
  for (let i = 0; i < count; i++) open(i);
  return {
    stop: () => {
      stopped = true;
      for (const socket of sockets) socket.destroy();
      return { connections, cut_off_by_server: cutOff };
    },
  };
}

await runCli(async () => {
  program.parse();
  const o = program.opts<{ images: string; seconds: string; connections: string; port: string; slowClients: string }>();
  const count = Number(o.images);
  const seconds = Number(o.seconds);
  const dataDir = mkdtempSync(join(tmpdir(), 'atlas-load-'));
  try {
    process.stderr.write(`building a library of ${count} images in ${dataDir}…\n`);
    await initEngine();
    const config = parseConfig({ LATENT_ATLAS_DATA_DIR: dataDir });
    const library = openLibrary(config);
    const model = Autoencoder.create(presetSpec('reference-cae'));
    await saveModel(model, join(config.modelsDir, 'load'));
    model.dispose();
    await registerModelDir(library, join(config.modelsDir, 'load'), { activate: true });
    const set = await loadFashionMnist('train', { limit: count + 200 });
    const pixels = set.pixels as Uint8Array; // Fashion-MNIST loads as bytes
    const sources = Array.from({ length: count }, (_, i) => ({
      name: `f${i}.png`,
      read: () => png(pixels.subarray(i * 784, (i + 1) * 784)),
    }));
    const report = await ingestSources(library, sources, { concurrency: 8 });
    library.close();
    process.stderr.write(`ingested ${report.added} in ${report.seconds.toFixed(1)} s; starting the server…\n`);

    // The production server (scripts/web-server.ts: Next.js behind the listener with timeouts).
    const server = spawn(process.execPath, ['--import', 'tsx', WEB_SERVER], {
      env: {
        ...process.env,
        LATENT_ATLAS_DATA_DIR: dataDir,
        LATENT_ATLAS_HOST: '127.0.0.1',
        LATENT_ATLAS_PORT: o.port,
        NEXT_TELEMETRY_DISABLED: '1',
      },
      stdio: 'ignore',
    });
    const base = `http://127.0.0.1:${o.port}`;
    try {
      for (let i = 0; ; i++) {
        if (
          await fetch(`${base}/api/health`).then(
            (r) => r.ok,
            () => false,
          )
        )
          break;
        if (i > 300) throw new Error('the server did not start');
        await new Promise((r) => setTimeout(r, 200));
      }
      // Warm up: the first search opens the index and loads the model.
      await fetch(`${base}/api/search`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"imageId":1,"k":10}' });
      const rssStart = rssMb(server.pid!);
      // The server's memory every 10 s: flat means no growth once warm (the second half's slope).
      const samples: { t: number; mb: number }[] = [{ t: 0, mb: rssStart }];
      const began = Date.now();
      const sampler = setInterval(() => samples.push({ t: (Date.now() - began) / 60_000, mb: rssMb(server.pid!) }), 10_000);

      // Uploads alongside: a new image every 200 ms.
      let uploads = 0;
      let uploading = true;
      const uploader = (async () => {
        for (let i = count; uploading; i++) {
          const form = new FormData();
          form.append(
            'file',
            new Blob([new Uint8Array(await png(pixels.subarray((i % (count + 200)) * 784, ((i % (count + 200)) + 1) * 784)))]),
            `u${i}.png`,
          );
          const r = await fetch(`${base}/api/images`, { method: 'POST', body: form });
          if (r.ok) uploads++;
          await new Promise((r) => setTimeout(r, 200));
        }
      })();

      const random = () => 1 + Math.floor(Math.random() * count);
      const searchById: autocannon.Request = {
        method: 'POST',
        path: '/api/search',
        headers: { 'content-type': 'application/json' },
        setupRequest: (req) => ({ ...req, body: JSON.stringify({ imageId: random(), k: 10 }) }),
      };
      const drive = (requests: autocannon.Request[]) =>
        autocannon({ url: base, connections: Number(o.connections), duration: Math.max(1, Math.round(seconds / 2)), requests });
      const byId = await drive([searchById]);
      const query = multipart(await png(pixels.subarray(count * 784, (count + 1) * 784)), { k: '10' });
      const mixed = await drive([
        searchById,
        { method: 'POST', path: '/api/search', headers: { 'content-type': query.type }, body: query.body },
        { method: 'GET', path: '/api/images?limit=60' },
      ]);
      // Search by id without slow clients, with them, and without again (the two baselines bracket
      // the noise of shared cores); each with the server's CPU time per answered request.
      const measured = async () => {
        const cpu = cpuSeconds(server.pid!);
        const result = summary(await drive([searchById]));
        return { ...result, server_cpu_ms_per_request: round(((cpuSeconds(server.pid!) - cpu) * 1000) / Math.max(1, result.requests), 2) };
      };
      let slow: Record<string, unknown> | undefined;
      if (Number(o.slowClients) > 0) {
        const before = await measured();
        const clients = slowClients(Number(o.port), Number(o.slowClients));
        await new Promise((r) => setTimeout(r, 2000)); // connected and trickling
        const during = await measured();
        const connections = clients.stop();
        await new Promise((r) => setTimeout(r, 2000));
        slow = {
          slow_clients: Number(o.slowClients),
          search_by_id_before_slow_clients: before,
          search_by_id_with_slow_clients: during,
          search_by_id_after_slow_clients: await measured(),
          slow_connections: connections,
        };
      }
      uploading = false;
      await uploader;
      clearInterval(sampler);
      const rssEnd = rssMb(server.pid!);
      samples.push({ t: (Date.now() - began) / 60_000, mb: rssEnd });
      const first = summary(byId);
      console.log(
        JSON.stringify({
          images: count,
          seconds,
          connections: Number(o.connections),
          ...first,
          search_by_id: first,
          mixed: summary(mixed),
          ...slow,
          uploads_alongside: uploads,
          rss_start_mb: Math.round(rssStart),
          rss_end_mb: Math.round(rssEnd),
          rss_max_mb: Math.round(Math.max(...samples.map((x) => x.mb))),
          rss_slope_second_half_mb_per_min: round(slope(samples.slice(Math.floor(samples.length / 2))), 2),
          rss_samples_mb: samples.map((x) => Math.round(x.mb)),
        }),
      );
    } finally {
      server.kill('SIGTERM');
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
