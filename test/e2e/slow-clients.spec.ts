/**
 * Slow and idle clients (issue 18, item 5) against the real app: hundreds of connections that
 * trickle their headers or an upload's body one byte a second do not stop search from answering,
 * and the server cuts each of them off at its header or request timeout (set short here).
 */
import { rmSync } from 'node:fs';
import { connect } from 'node:net';
import { expect, test } from '@playwright/test';
import { initEngine } from '../../lib/engine/backend';
import { parseConfig } from '../../lib/config';
import { ingestFolder } from '../../lib/services/ingest-service';
import { openLibrary } from '../../lib/services/library';
import { addModel, fashionFolder } from '../helpers/library';
import { type Atlas, keepLogOnFailure, startAtlas } from './atlas';

const HEADERS_TIMEOUT_S = 3;
const REQUEST_TIMEOUT_S = 6;
let atlas: Atlas;

test.describe.configure({ mode: 'serial' });
test.beforeAll(async () => {
  atlas = await startAtlas(
    { LATENT_ATLAS_HEADERS_TIMEOUT_S: String(HEADERS_TIMEOUT_S), LATENT_ATLAS_REQUEST_TIMEOUT_S: String(REQUEST_TIMEOUT_S) },
    async (dataDir) => {
      await initEngine('wasm');
      const library = openLibrary(parseConfig({ LATENT_ATLAS_DATA_DIR: dataDir, LATENT_ATLAS_WORKERS: '1' }));
      const folder = await fashionFolder(30);
      try {
        await addModel(library, 'slow-clients', 8, true);
        await ingestFolder(library, folder);
      } finally {
        library.close();
        rmSync(folder, { recursive: true, force: true });
      }
    },
  );
});
// eslint-disable-next-line no-empty-pattern -- Playwright reads the fixtures from this pattern; none are needed
test.afterEach(async ({}, testInfo) => keepLogOnFailure(atlas, testInfo));
test.afterAll(async () => atlas.stop());

interface Trickler {
  /** Resolves when the server closed the connection, with the seconds it was open; rejects after `giveUpMs`. */
  closed: Promise<number>;
  stop: () => void;
}

/** A connection that sends `head`, then one byte a second until the server closes it. */
function trickle(port: number, head: string, giveUpMs: number): Trickler {
  const socket = connect(port, '127.0.0.1', () => socket.write(head));
  const started = Date.now();
  const timer = setInterval(() => socket.writable && socket.write('a'), 1000);
  socket.on('error', () => {});
  const closed = new Promise<number>((resolve, reject) => {
    const giveUp = setTimeout(() => reject(new Error(`a slow connection was still open after ${giveUpMs} ms`)), giveUpMs);
    socket.on('close', () => {
      clearTimeout(giveUp);
      clearInterval(timer);
      resolve((Date.now() - started) / 1000);
    });
  });
  return { closed, stop: () => (clearInterval(timer), socket.destroy()) };
}

test('500 connections trickling headers or bodies a byte a second: search answers, and each is cut off at its timeout', async ({
  request,
}) => {
  const port = Number(new URL(atlas.baseURL).port);
  const slack = 10_000; // the server's once-a-second check, and two cores shared with other work
  const slow = [
    ...Array.from({ length: 300 }, () =>
      trickle(port, 'GET /api/images HTTP/1.1\r\nHost: atlas\r\nX-Slow: ', HEADERS_TIMEOUT_S * 1000 + slack),
    ),
    ...Array.from({ length: 200 }, () =>
      trickle(
        port,
        'POST /api/images HTTP/1.1\r\nHost: atlas\r\nContent-Type: multipart/form-data; boundary=x\r\nContent-Length: 1000000\r\n\r\n--x\r\n',
        REQUEST_TIMEOUT_S * 1000 + slack,
      ),
    ),
  ];
  try {
    await new Promise((r) => setTimeout(r, 1500)); // all of them connected and trickling
    for (let i = 0; i < 20; i++) {
      const search = await request.post(`${atlas.baseURL}/api/search`, { data: { imageId: 1 + (i % 30), k: 5 } });
      expect(search.status()).toBe(200);
      expect((await search.json()).hits).toHaveLength(5);
    }
    const seconds = await Promise.all(slow.map((s) => s.closed));
    // Closed by the server at its limits, not earlier (that would be a refusal, not a timeout).
    expect(Math.min(...seconds.slice(0, 300))).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_S - 0.5);
    expect(Math.min(...seconds.slice(300))).toBeGreaterThanOrEqual(REQUEST_TIMEOUT_S - 0.5);
  } finally {
    for (const s of slow) s.stop();
  }
  const after = await request.post(`${atlas.baseURL}/api/search`, { data: { imageId: 2, k: 5 } });
  expect(after.status()).toBe(200);
  expect((await (await request.get(`${atlas.baseURL}/api/images`)).json()).total).toBe(30);
});
