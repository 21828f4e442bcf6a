import { z } from 'zod';
import { AppError } from '@/lib/errors';
import { searchSimilar } from '@/lib/services/search-service';
import { idParam, intParam, json, parseQuery, route } from '@/app/_server/respond';
import { server } from '@/app/_server/library';
import { nodeRoute } from '@/app/_server/node-route';

/** The k most similar stored images to a stored one. A Pages Router route (app/_server/node-route.ts says why). */
const GET = route(async (request, context: { params: Promise<{ id: string }> }) => {
  if (request.method !== 'GET') throw new AppError('method_not_allowed', 'neighbors takes GET');
  const { library } = await server();
  const { k } = parseQuery(request, z.strictObject({ k: intParam(1, 100).default(12) }));
  return json(await searchSimilar(library, { imageId: idParam((await context.params).id) }, { k }));
});

export default nodeRoute(GET);
