import { z } from 'zod';
import { AppError } from '@/lib/errors';
import { parseOrThrow } from '@/lib/validation';
import { clientOf, sameToken, TOKEN_COOKIE } from '@/app/_server/access';
import { errorResponse } from '@/app/_server/respond';
import { server } from '@/app/_server/library';
import { safeNext, signInResponse } from '@/app/_server/sign-in-page';
import { SignInThrottle } from '@/app/_server/sign-in-throttle';

export const dynamic = 'force-dynamic';

const throttle = new SignInThrottle();
const MAX_FORM_BYTES = 4096;
const SignInForm = z.object({ token: z.string().max(1000), next: z.string().max(2000).optional() });

/** The sign-in form's POST (`token`, `next`): the right token sets the HttpOnly, SameSite=Strict cookie and returns to `next`. */
export async function POST(request: Request): Promise<Response> {
  try {
    const { config } = await server();
    if (!request.headers.get('content-type')?.startsWith('application/x-www-form-urlencoded'))
      throw new AppError('invalid_input', 'expected the sign-in form (application/x-www-form-urlencoded)');
    const text = await request.text();
    if (text.length > MAX_FORM_BYTES) throw new AppError('too_large', `the sign-in form is over ${MAX_FORM_BYTES} bytes`);
    const form = parseOrThrow(SignInForm, Object.fromEntries(new URLSearchParams(text)), 'form');
    const next = safeNext(form.next);
    if (!config.token) return new Response(null, { status: 303, headers: { Location: next } });
    const client = clientOf(request.headers);
    const wait = throttle.waitMs(client);
    if (wait > 0) {
      const seconds = Math.ceil(wait / 1000);
      return signInResponse({
        next,
        status: 429,
        message: `Too many wrong tokens: try again in ${seconds} s.`,
        headers: { 'Retry-After': String(seconds) },
      });
    }
    if (!sameToken(form.token, config.token)) {
      const delay = throttle.fail(client);
      return signInResponse({
        next,
        message: delay > 0 ? `That token is not right. Wait ${Math.ceil(delay / 1000)} s before the next try.` : 'That token is not right.',
      });
    }
    throttle.succeed(client);
    const secure = request.headers.get('x-forwarded-proto') === 'https' ? '; Secure' : '';
    return new Response(null, {
      status: 303,
      headers: {
        Location: next,
        'Set-Cookie': `${TOKEN_COOKIE}=${encodeURIComponent(form.token)}; HttpOnly; SameSite=Strict; Path=/${secure}`,
      },
    });
  } catch (error) {
    return errorResponse(error);
  }
}
