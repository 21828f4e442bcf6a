import { AppError } from '@/lib/errors';
import { sameToken, TOKEN_COOKIE } from '@/app/_server/access';
import { errorResponse } from '@/app/_server/respond';
import { server } from '@/app/_server/library';

export const dynamic = 'force-dynamic';

/** `?token=<token>` once: sets the HttpOnly access cookie and opens the app. */
export async function GET(request: Request): Promise<Response> {
  try {
    const { config } = await server();
    const token = new URL(request.url).searchParams.get('token') ?? '';
    if (!config.token || !sameToken(token, config.token)) throw new AppError('unauthorized', 'wrong or missing access token');
    return new Response(null, {
      status: 303,
      headers: { Location: '/', 'Set-Cookie': `${TOKEN_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/` },
    });
  } catch (error) {
    return errorResponse(error);
  }
}
