/**
 * The web server's timeouts (lib/web-server.ts) on a real listener: clients that trickle their
 * headers or their body a byte at a time, and idle keep-alive connections, are cut off at the
 * configured limits (Node's defaults would hold them 60 s, 300 s and 5 s) while a normal request
 * is answered at once.
 */
import type { AddressInfo } from 'node:net';
import { connect, type Socket } from 'node:net';
import type { Server } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createWebServer } from '../../lib/web-server';

let server: Server;
let port: number;

beforeAll(async () => {
  server = createWebServer(
    (_request, response) => {
      response.end('ok');
    },
    { headersMs: 1000, requestMs: 2000, keepAliveMs: 500 },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

/** A connection that writes `head` and then one more byte every 100 ms until the server closes it; resolves with what the server sent and when. */
function trickle(head: string): Promise<{ answer: string; ms: number; socket: Socket }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect(port, '127.0.0.1', () => socket.write(head));
    let answer = '';
    const timer = setInterval(() => socket.writable && socket.write('a'), 100);
    socket.on('data', (d) => (answer += d.toString()));
    socket.on('error', () => {}); // a reset after the 408 is fine: what counts is that it ends
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ answer, ms: Date.now() - started, socket });
    });
    setTimeout(() => {
      clearInterval(timer);
      socket.destroy();
      reject(new Error('the server kept a trickling connection open for 8 s'));
    }, 8000);
  });
}

it('cuts off clients that trickle headers or bodies, and still answers everyone else', async () => {
  const slowHeaders = Array.from({ length: 40 }, () => trickle('GET / HTTP/1.1\r\nHost: x\r\nX-Slow: '));
  const slowBodies = Array.from({ length: 40 }, () =>
    trickle('POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n'),
  );
  await new Promise((r) => setTimeout(r, 300));
  const normal = await fetch(`http://127.0.0.1:${port}/`);
  expect(await normal.text()).toBe('ok');
  const headers = await Promise.all(slowHeaders);
  const bodies = await Promise.all(slowBodies);
  for (const h of headers) {
    expect(h.answer).toMatch(/^HTTP\/1\.1 408/);
    expect(h.ms).toBeGreaterThanOrEqual(900); // not before its limit
  }
  // A body that is still arriving is cut off at the request limit (the handler answered early here, so the 408 may not come through).
  for (const b of bodies) expect(b.ms).toBeGreaterThanOrEqual(1900);
});

it('closes an idle keep-alive connection after its timeout', async () => {
  const closed = await new Promise<{ ms: number; answer: string }>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    let answer = '';
    let answeredAt = 0;
    socket.on('data', (d) => {
      answer += d.toString();
      answeredAt ||= Date.now();
    });
    socket.on('close', () => resolve({ ms: Date.now() - answeredAt, answer }));
    setTimeout(() => {
      socket.destroy();
      reject(new Error('the idle connection stayed open for 5 s'));
    }, 5000);
  });
  expect(closed.answer).toMatch(/^HTTP\/1\.1 200/);
  expect(closed.ms).toBeGreaterThanOrEqual(400);
});
