/**
 * The hot API routes — search by example and an image's neighbours — answered by the production
 * server's own listener (scripts/web-server.ts) before Next.js sees the request. They are the same
 * handlers as pages/api/ (same parsing, access check, errors); what is skipped is Next.js's
 * per-request work around them: routing, tracing spans, manifest lookups, the response wrapped for
 * compression. Profiled at 100,000 images under 8 connections, that work was over half of the
 * ~1.2 ms of CPU a search by id cost, and one search's CPU times the connections queued ahead of it
 * is its latency once the server's one thread is busy (docs/sizing.md). The headers next.config.js
 * gives every response are applied from the build's routes manifest, as Next.js would.
 * `next dev` (npm run dev) does not use this listener: there Next.js serves the same routes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import search from '@/pages/api/search';
import neighbors from '@/pages/api/images/[id]/neighbors';

type ApiRequest = IncomingMessage & { query?: Record<string, string> };
type Handler = (req: ApiRequest, res: ServerResponse) => Promise<void>;

const NEIGHBORS = /^\/api\/images\/([^/?]+)\/neighbors(?:\?|$)/;

/** The build's header rules (next.config.js `headers()`), as `next build` wrote them. */
interface HeaderRule {
  regex: string;
  headers: { key: string; value: string }[];
  has?: unknown;
  missing?: unknown;
}

/**
 * The headers Next.js would add to a response for `path`. Rules with conditions (`has`,
 * `missing`) are not followed here: a build that has them gets an error at start, not responses
 * without their headers.
 */
function headersFor(rules: readonly HeaderRule[], path: string): [string, string][] {
  const out: [string, string][] = [];
  for (const rule of rules) {
    if (rule.has || rule.missing)
      throw new Error('next.config.js has conditional headers: scripts/web-server.ts cannot apply them to the hot routes');
    if (new RegExp(rule.regex).test(path)) for (const { key, value } of rule.headers) out.push([key, value]);
  }
  return out;
}

/** A path segment decoded as Next.js would; a malformed escape stays as sent (the handler's id check answers 404). */
function pathSegment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/**
 * A dispatcher for the built app in `distDir` (`.next`): the handler that answers `req` here, or
 * null when Next.js should.
 */
export function hotRoutes(distDir: string): (req: IncomingMessage) => Handler | null {
  const manifest = JSON.parse(readFileSync(join(distDir, 'routes-manifest.json'), 'utf8')) as { headers?: HeaderRule[] };
  const rules = manifest.headers ?? [];
  // The paths of these routes hold nothing the rules could tell apart beyond the route itself.
  const searchHeaders = headersFor(rules, '/api/search');
  const neighborsHeaders = headersFor(rules, '/api/images/1/neighbors');
  const withHeaders =
    (handler: Handler, headers: readonly [string, string][], query: (req: IncomingMessage) => Record<string, string>): Handler =>
    (req, res) => {
      for (const [key, value] of headers) res.setHeader(key, value);
      req.query = query(req);
      return handler(req, res);
    };
  const searchRoute = withHeaders(search, searchHeaders, () => ({}));
  const neighborsRoute = withHeaders(neighbors, neighborsHeaders, (req) => ({ id: pathSegment(NEIGHBORS.exec(req.url ?? '')![1]!) }));
  return (req) => {
    const url = req.url ?? '';
    if (url === '/api/search' || url.startsWith('/api/search?')) return searchRoute;
    if (NEIGHBORS.test(url)) return neighborsRoute;
    return null;
  };
}
