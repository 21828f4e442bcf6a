/**
 * The app's route handlers served over real HTTP without Next.js: a remote worker in another
 * process talks to the same handlers (token check included) that `next start` would run. The
 * handlers read their configuration from process.env, so the caller sets it before the first request.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';

/** A route handler of any route's params (each declares its own; they get the matched path's). */
type Handler = (request: Request, context: never) => Promise<Response>;

/** A route: its path pattern (`/api/remote/originals/[hash]`) and its GET handler. */
export interface RouteEntry {
  pattern: string;
  GET: Handler;
}

function match(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (const [i, part] of want.entries()) {
    const name = /^\[(.+)\]$/.exec(part)?.[1];
    if (name) params[name] = decodeURIComponent(got[i]!);
    else if (part !== got[i]) return null;
  }
  return params;
}

function toRequest(message: IncomingMessage, base: string): Request {
  const headers = new Headers();
  for (const [key, value] of Object.entries(message.headers)) if (typeof value === 'string') headers.set(key, value);
  return new Request(new URL(message.url ?? '/', base), { method: message.method ?? 'GET', headers });
}

/** Serves `routes` (GET only) on a free loopback port; resolves to its base URL and a close(). */
export async function serveRoutes(routes: readonly RouteEntry[]): Promise<{ url: string; close: () => Promise<void> }> {
  let base = '';
  const server: Server = createServer((message, response) => {
    const path = new URL(message.url ?? '/', 'http://x').pathname;
    const found = routes.map((r) => ({ route: r, params: match(r.pattern, path) })).find((r) => r.params);
    if (!found || message.method !== 'GET') {
      response.writeHead(404, { 'Content-Type': 'application/json' }).end('{"error":{"code":"not_found","message":"no such route"}}');
      return;
    }
    void found.route
      .GET(toRequest(message, base), { params: Promise.resolve(found.params!) } as never)
      .then(async (reply) => {
        response.writeHead(reply.status, Object.fromEntries(reply.headers.entries()));
        response.end(Buffer.from(await reply.arrayBuffer()));
      })
      .catch((error: Error) => response.writeHead(500).end(error.message));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  return { url: base, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
