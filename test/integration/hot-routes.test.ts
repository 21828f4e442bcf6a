/**
 * The hot API routes as the production listener answers them (app/_server/hot-routes.ts) on a real
 * library over real HTTP: search by id and an image's neighbours with the headers of the build's
 * routes manifest, errors with their codes, other paths left to Next.js. And the one index per
 * process that several copies of lib/ share (Next.js bundles it per router, the listener loads its
 * own): a second copy of the module gets the first one's index, and an AppError made by one copy
 * is known to another.
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { AppError, isAppError } from '../../lib/errors';
import type { Library } from '../../lib/services/library';
import { activeModel } from '../../lib/store/models-repo';
import { startWasm } from '../helpers/engine';
import { ingestedLibrary } from '../helpers/library';

let library: Library;
let remove: () => void;
let dist: string;
let server: Server;
let base: string;
let hot: (req: import('node:http').IncomingMessage) => unknown;

beforeAll(async () => {
  await startWasm();
  let dataDir: string;
  ({ library, dataDir, remove } = await ingestedLibrary(12));
  process.env.LATENT_ATLAS_DATA_DIR = dataDir; // what the route handlers' server() opens
  dist = mkdtempSync(join(tmpdir(), 'latent-atlas-dist-'));
  writeFileSync(
    join(dist, 'routes-manifest.json'),
    JSON.stringify({
      headers: [
        { source: '/:path*', regex: '^(?:/((?:[^/]+?)(?:/(?:[^/]+?))*))?(?:/)?$', headers: [{ key: 'X-Frame-Options', value: 'DENY' }] },
        { source: '/other', regex: '^/other(?:/)?$', headers: [{ key: 'X-Other', value: 'no' }] },
      ],
    }),
  );
  const { hotRoutes } = await import('../../app/_server/hot-routes');
  const dispatch = hotRoutes(dist);
  hot = dispatch;
  server = createServer((req, res) => {
    const handler = dispatch(req);
    if (handler) void handler(req, res);
    else res.writeHead(418).end('next.js');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server?.close();
  remove?.();
  rmSync(dist, { recursive: true, force: true });
  delete process.env.LATENT_ATLAS_DATA_DIR;
});

const searchById = (body: unknown) =>
  fetch(`${base}/api/search`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });

it('answers a search by id with its hits and the headers the build gives every response', async () => {
  const response = await searchById({ imageId: 1, k: 3 });
  expect(response.status).toBe(200);
  expect(response.headers.get('x-frame-options')).toBe('DENY');
  expect(response.headers.get('x-other')).toBeNull();
  expect(response.headers.get('cache-control')).toBe('no-store');
  const body = (await response.json()) as { query: { imageId: number }; hits: { image: { id: number }; distance: number }[] };
  expect(body.query.imageId).toBe(1);
  expect(body.hits).toHaveLength(3);
  expect(body.hits.map((h) => h.image.id)).not.toContain(1);
  const distances = body.hits.map((h) => h.distance);
  expect(distances).toEqual([...distances].sort((a, b) => a - b));
});

it("answers an image's neighbours, the id taken from the path", async () => {
  const response = await fetch(`${base}/api/images/2/neighbors?k=4`);
  expect(response.status).toBe(200);
  const body = (await response.json()) as { query: { imageId: number }; hits: unknown[] };
  expect(body.query.imageId).toBe(2);
  expect(body.hits).toHaveLength(4);
  expect((await fetch(`${base}/api/images/%E0%A4%A/neighbors`)).status).toBe(404);
  expect((await fetch(`${base}/api/images/999/neighbors`)).status).toBe(404);
});

it('answers bad input with its error code, as the Next.js route would', async () => {
  const bad = await searchById({ imageId: 1, k: 0 });
  expect(bad.status).toBe(400);
  expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('invalid_input');
  const missing = await searchById({ imageId: 10_000, k: 3 });
  expect(missing.status).toBe(404);
  const wrongMethod = await fetch(`${base}/api/search`);
  expect(wrongMethod.status).toBe(405);
});

it('leaves every other path to Next.js', async () => {
  expect((await fetch(`${base}/api/images`)).status).toBe(418);
  expect((await fetch(`${base}/api/search-more`)).status).toBe(418);
  expect((await fetch(`${base}/api/images/2/neighbors/x`)).status).toBe(418);
  expect(hot({ url: '/api/search?k=3' } as import('node:http').IncomingMessage)).not.toBeNull();
});

it('shares one open index between copies of the model service, and their errors', async () => {
  const first = await import('../../lib/services/model-service');
  const model = activeModel(library.db)!;
  const opened = first.modelIndex(library, model);
  vi.resetModules();
  const second = await import('../../lib/services/model-service');
  expect(second).not.toBe(first);
  expect(second.modelIndex(library, model).index).toBe(opened.index);
  const otherErrors = await import('../../lib/errors');
  expect(otherErrors.AppError).not.toBe(AppError);
  const fromOtherCopy = new otherErrors.AppError('not_found', 'gone');
  expect(fromOtherCopy instanceof AppError).toBe(true);
  expect(isAppError(fromOtherCopy, 'not_found')).toBe(true);
  expect(isAppError(fromOtherCopy, 'invalid_input')).toBe(false);
  expect(isAppError(new Error('plain'))).toBe(false);
});
