/**
 * How every route handler answers: JSON on success; `{ error: { code, message } }` with the
 * AppError's status on failure (a public message only — no paths, no stack traces); input parsed
 * once with zod, naming what was expected and what came.
 */
import { z } from 'zod';
import { AppError, isAppError } from '@/lib/errors';
import { parseOrThrow } from '@/lib/validation';
import { allowed, cookieValue, TOKEN_COOKIE, workerAllowed } from './access';
import { server } from './library';
import { withUploadMemory } from './upload';

export function json(data: unknown, init: ResponseInit = {}): Response {
  return Response.json(data, { ...init, headers: { 'Cache-Control': 'no-store', ...init.headers } });
}

/** A JSON document sent as it is made, slice by slice (for documents too large to hold whole). */
export function jsonSlices(slices: Iterable<string>): Response {
  const encoder = new TextEncoder();
  const iterator = slices[Symbol.iterator]();
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      const next = iterator.next();
      if (next.done) controller.close();
      else controller.enqueue(encoder.encode(next.value));
    },
  });
  return new Response(body, { headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' } });
}

export function errorResponse(error: unknown): Response {
  if (isAppError(error)) {
    if (error.status >= 500 && error.code !== 'busy') console.error(error);
    const headers: Record<string, string> = error.retryAfterSeconds ? { 'Retry-After': String(error.retryAfterSeconds) } : {};
    return json({ error: { code: error.code, message: error.message } }, { status: error.status, headers });
  }
  console.error(error);
  return json({ error: { code: 'internal', message: 'something went wrong on the server; the error is in its log' } }, { status: 500 });
}

/**
 * Wraps a handler: the access token is checked first, an upload waits for room in the upload
 * memory (withUploadMemory), and every thrown error becomes an error response. `worker: true`
 * (the remote workers' routes) requires the token as a bearer header always, loopback included
 * (see workerAllowed).
 */
export function route<C>(handler: (request: Request, context: C) => Promise<Response>, options: { worker?: boolean } = {}) {
  return async (request: Request, context: C): Promise<Response> => {
    try {
      const { config } = await server();
      const authorization = request.headers.get('authorization');
      if (options.worker && !workerAllowed(config, authorization))
        throw new AppError(
          'unauthorized',
          config.token
            ? 'remote workers must send the access token (Authorization: Bearer <LATENT_ATLAS_TOKEN>)'
            : 'remote workers need LATENT_ATLAS_TOKEN to be set on the app',
        );
      if (!allowed(config, authorization, cookieValue(request.headers.get('cookie'), TOKEN_COOKIE)))
        throw new AppError(
          'unauthorized',
          'this Latent Atlas needs its access token (Authorization: Bearer <token>, or sign in with the form any page shows)',
        );
      // Uploads (multipart bodies, held in memory while ingested) take their turn in the upload memory.
      const upload = (request.headers.get('content-type') ?? '').toLowerCase().startsWith('multipart/form-data');
      return await (upload ? withUploadMemory(request, config, () => handler(request, context)) : handler(request, context));
    } catch (error) {
      return errorResponse(error);
    }
  };
}

/** The query string, checked against `schema`. */
export function parseQuery<T>(request: Request, schema: z.ZodType<T>): T {
  return parseOrThrow(schema, Object.fromEntries(new URL(request.url).searchParams), 'query');
}

/** A JSON body (at most `maxBytes`), checked against `schema`. */
export async function parseJson<T>(request: Request, schema: z.ZodType<T>, maxBytes = 64 * 1024): Promise<T> {
  const declared = Number(request.headers.get('content-length') ?? 0);
  if (declared > maxBytes) throw new AppError('too_large', `the JSON body is ${declared} bytes; the limit is ${maxBytes}`);
  const text = await request.text();
  if (text.length > maxBytes) throw new AppError('too_large', `the JSON body is over the limit of ${maxBytes} bytes`);
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    throw new AppError('invalid_input', 'the body is not valid JSON');
  }
  return parseOrThrow(schema, body, 'body');
}

/** A route parameter that must be a positive integer id (404 otherwise, the same as an unknown id). */
export function idParam(value: string, what = 'image'): number {
  const id = /^[1-9][0-9]{0,14}$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(id)) throw new AppError('not_found', `${what} ${value.slice(0, 40)} not found`);
  return id;
}

/** Positive integer from a query string. */
export const intParam = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** A WebP image made by the server from a stored image: immutable for its id, never sniffed. */
export function webpResponse(webp: Uint8Array): Response {
  return new Response(new Uint8Array(webp), {
    headers: { 'Content-Type': 'image/webp', 'Cache-Control': 'private, max-age=31536000, immutable', 'X-Content-Type-Options': 'nosniff' },
  });
}
