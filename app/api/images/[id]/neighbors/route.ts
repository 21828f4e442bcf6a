import { z } from 'zod';
import { searchSimilar } from '@/lib/services/search-service';
import { idParam, intParam, json, parseQuery, route } from '@/app/_server/respond';
import { server } from '@/app/_server/library';

export const dynamic = 'force-dynamic';

/** The k most similar stored images to a stored one. */
export const GET = route(async (request, context: { params: Promise<{ id: string }> }) => {
  const { library } = await server();
  const { k } = parseQuery(request, z.strictObject({ k: intParam(1, 100).default(12) }));
  return json(await searchSimilar(library, { imageId: idParam((await context.params).id) }, { k }));
});
