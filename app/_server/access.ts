/**
 * Access control: on loopback (the default) every request passes; bound to any other address the
 * app requires LATENT_ATLAS_TOKEN on every page and API call — as `Authorization: Bearer <token>`,
 * or as the HttpOnly, SameSite=Strict cookie that the sign-in form (POST /api/session) sets; the
 * token never travels in a URL. Compared in constant time. Pages are checked by middleware.ts
 * (401 and the sign-in form), API calls by the route wrapper (401 in JSON): Next.js middleware
 * would buffer and cap the bodies of uploads.
 */
import { timingSafeEqual } from 'node:crypto';
import { LOOPBACK_HOSTS, type Config } from '@/lib/config';

export const TOKEN_COOKIE = 'latent_atlas_token';
/** Set by our listener (scripts/web-server.ts) to the socket's address, replacing anything a client sent under that name. */
export const PEER_HEADER = 'x-latent-atlas-peer';

/**
 * Who is asking, for the sign-in throttle: the socket's address from our listener; under `next dev`
 * (no listener) the first X-Forwarded-For address. Behind a reverse proxy every client shares the
 * proxy's address, so they are slowed down together.
 */
export function clientOf(headers: Headers): string {
  return headers.get(PEER_HEADER) || headers.get('x-forwarded-for')?.split(',')[0]?.trim() || 'unknown';
}

export function sameToken(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** True when the request may pass: loopback, or the right token in the Authorization header or the cookie. */
export function allowed(config: Readonly<Config>, authorization: string | null, cookie: string | undefined): boolean {
  if (LOOPBACK_HOSTS.includes(config.host) || !config.token) return true;
  const bearer = authorization?.startsWith('Bearer ') ? authorization.slice(7) : null;
  return (bearer !== null && sameToken(bearer, config.token)) || (cookie !== undefined && sameToken(cookie, config.token));
}

/**
 * True when a remote worker's request may pass: the app has a token and the request carries it as
 * `Authorization: Bearer <token>` — on loopback too (a worker's routes serve every original and
 * model, and Redis may put them in reach of other machines).
 */
export function workerAllowed(config: Readonly<Config>, authorization: string | null): boolean {
  const bearer = authorization?.startsWith('Bearer ') ? authorization.slice(7) : null;
  return config.token !== undefined && bearer !== null && sameToken(bearer, config.token);
}

/** The value of one cookie in a Cookie header. */
export function cookieValue(header: string | null, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [key, ...rest] = part.trim().split('=');
    if (key === name) return decodeURIComponent(rest.join('='));
  }
  return undefined;
}
