import { AppError } from '@/lib/errors';
import { route } from '@/app/_server/respond';

export const dynamic = 'force-dynamic';

/** Any other API path: a JSON 404 like every other API error (never the HTML page). */
const notFound = route(async (request) => {
  throw new AppError('not_found', `no API endpoint ${request.method} ${new URL(request.url).pathname.slice(0, 100)}`);
});

export { notFound as GET, notFound as POST, notFound as PUT, notFound as PATCH, notFound as DELETE };
