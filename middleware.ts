/**
 * The gate in front of every page of a protected Latent Atlas (bound beyond loopback): without the
 * access cookie (or an `Authorization: Bearer` header) a page answers 401 with the sign-in form,
 * whatever the path. API routes are checked by their route wrapper (app/_server/respond.ts), which
 * answers 401 in JSON: the matcher leaves them out because Next.js buffers (and caps at 10 MB) the
 * body of every request that middleware sees, and uploads are larger.
 */
import { NextResponse, type NextRequest } from 'next/server';
import { allowed, TOKEN_COOKIE } from '@/app/_server/access';
import { signInResponse } from '@/app/_server/sign-in-page';
import { parseConfig, type Config } from '@/lib/config';

let parsed: Readonly<Config> | undefined;

export function middleware(request: NextRequest): Response {
  parsed ??= parseConfig();
  if (allowed(parsed, request.headers.get('authorization'), request.cookies.get(TOKEN_COOKIE)?.value)) return NextResponse.next();
  return signInResponse({ next: request.nextUrl.pathname + request.nextUrl.search });
}

export const config = {
  runtime: 'nodejs',
  matcher: ['/((?!api/|_next/static/|_next/image|favicon.ico).*)'],
};
