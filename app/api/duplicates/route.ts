import { z } from 'zod';
import { reviewDuplicates } from '@/lib/services/duplicates-service';
import { json, parseQuery, route } from '@/app/_server/respond';
import { server } from '@/app/_server/library';

export const dynamic = 'force-dynamic';

const query = z.strictObject({ fraction: z.coerce.number().min(0).max(1).optional() });

/** Near-duplicate groups for review (threshold as a share of the typical distance between unrelated images), each with the one kept. */
export const GET = route(async (request) => {
  const { library } = await server();
  const { fraction } = parseQuery(request, query);
  return json(reviewDuplicates(library, fraction === undefined ? {} : { fraction }));
});
