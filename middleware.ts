/**
 * Access control: on loopback (the default) every request passes; bound to any other address the
 * app requires LATENT_ATLAS_TOKEN on every page and API call — as `Authorization: Bearer <token>`,
 * or once as `?token=<token>`, which sets an HttpOnly cookie for the pages that follow. Compared in
 * constant time.
 */
import { timingSafeEqual } from 'node:crypto';
import { NextResponse, type NextRequest } from 'next/server';
import { LOOPBACK_HOSTS, parseConfig } from './lib/config';

const COOKIE = 'latent_atlas_token';

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function middleware(request: NextRequest): NextResponse {
  const config = parseConfig();
  if (LOOPBACK_HOSTS.includes(config.host) || !config.token) return NextResponse.next();
  const header = request.headers.get('authorization');
  const bearer = header?.startsWith('Bearer ') ? header.slice(7) : null;
  const query = request.nextUrl.searchParams.get('token');
  const cookie = request.cookies.get(COOKIE)?.value ?? null;
  if (query !== null && same(query, config.token)) {
    const url = request.nextUrl.clone();
    url.searchParams.delete('token');
    const response = NextResponse.redirect(url);
    response.cookies.set(COOKIE, config.token, { httpOnly: true, sameSite: 'strict', path: '/' });
    return response;
  }
  if ((bearer !== null && same(bearer, config.token)) || (cookie !== null && same(cookie, config.token))) return NextResponse.next();
  return NextResponse.json(
    {
      error: {
        code: 'unauthorized',
        message: 'this Latent Atlas needs its access token (Authorization: Bearer <token>, or ?token=<token> once)',
      },
    },
    { status: 401 },
  );
}

export const config = {
  runtime: 'nodejs',
  matcher: ['/((?!_next/static|_next/image|favicon.ico).*)'],
};
