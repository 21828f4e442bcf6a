/**
 * The hot API endpoints (search) served as Pages Router API routes: Next.js hands them Node's own
 * request and response, skipping the App Router's per-request pipeline (a web Request built from the
 * Node one, tracing, the response piped through web streams, headers and body written apart). On
 * this machine that pipeline cost ~3 ms of CPU per search against ~0.3 ms for the search itself, so
 * 8 concurrent searches queued behind it (docs/sizing.md). The handler stays a `route()` handler
 * — same parsing, access check and errors — and this adapter gives it a web Request with the
 * body already read (or streamed, for uploads) and writes its answer in one piece.
 */
import { Readable } from 'node:stream';
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Bytes of a non-multipart body kept for the handler; parseJson's limits are below this. */
const MAX_BUFFERED = 1024 * 1024;

/** Turns a `route()` handler into a Pages Router API handler (export `config` with `bodyParser: false` beside it). */
export function nodeRoute<P extends Record<string, string>>(
  handler: (request: Request, context: { params: Promise<P> }) => Promise<Response>,
) {
  return async (req: IncomingMessage & { query?: Partial<Record<string, string | string[]>> }, res: ServerResponse): Promise<void> => {
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const url = `http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`;
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    const streamed = (headers.get('content-type') ?? '').startsWith('multipart/');
    let body: BodyInit | null = null;
    if (hasBody && streamed) body = Readable.toWeb(req) as ReadableStream<Uint8Array>;
    else if (hasBody) {
      // Small JSON bodies, read at once: kept up to just past the largest limit a handler sets (a
      // longer body is refused by parseJson for its length; the rest is drained, not held).
      const chunks: Buffer[] = [];
      let kept = 0;
      for await (const chunk of req as AsyncIterable<Buffer>) {
        if (kept > MAX_BUFFERED) continue;
        chunks.push(chunk);
        kept += chunk.length;
      }
      body = Buffer.concat(chunks);
    }
    const request = new Request(url, { method: req.method ?? 'GET', headers, body, ...(streamed ? { duplex: 'half' } : {}) });
    // The route's dynamic segments, as the App Router would pass them (Next.js parsed them into req.query).
    const params = Object.fromEntries(
      Object.entries(req.query ?? {}).map(([k, v]) => [k, Array.isArray(v) ? v.join('/') : (v ?? '')]),
    ) as P;
    const response = await handler(request, { params: Promise.resolve(params) });
    const out = Buffer.from(await response.arrayBuffer());
    response.headers.forEach((value, name) => res.setHeader(name, value));
    res.setHeader('Content-Length', out.length);
    res.statusCode = response.status;
    res.end(out);
  };
}
