/**
 * The web server's HTTP listener, with the timeouts that keep slow and idle clients from holding
 * it: a client that trickles its headers (slowloris) is cut off after `headersMs`, one that
 * trickles its body after `requestMs`, an idle keep-alive connection after `keepAliveMs`. Node
 * checks these on a timer (`connectionsCheckingInterval`, 30 s by default); here every second, so
 * that a limit of 10 s means about 10 s. Next.js serves the requests (scripts/web-server.ts); this
 * module knows only node:http.
 */
import { createServer, type RequestListener, type Server } from 'node:http';
import type { HttpTimeouts } from './config';

/** How often Node looks for connections past their header or request timeout, in milliseconds. */
const CHECK_INTERVAL_MS = 1000;

/** An HTTP server for `listener` with `timeouts` applied (not yet listening). */
export function createWebServer(listener: RequestListener, timeouts: Readonly<HttpTimeouts>): Server {
  // Node refuses a header timeout longer than the request timeout: the whole request bounds its headers.
  const headersTimeout = Math.min(timeouts.headersMs, timeouts.requestMs);
  const server = createServer(
    { headersTimeout, requestTimeout: timeouts.requestMs, connectionsCheckingInterval: CHECK_INTERVAL_MS },
    listener,
  );
  server.keepAliveTimeout = timeouts.keepAliveMs;
  return server;
}
