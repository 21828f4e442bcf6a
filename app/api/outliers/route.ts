import { z } from 'zod';
import { OUTLIER_RANKINGS, outlierPage } from '@/lib/services/anomaly-service';
import { intParam, json, parseQuery, route } from '@/app/_server/respond';
import { server } from '@/app/_server/library';

export const dynamic = 'force-dynamic';

const query = z
  .strictObject({
    by: z.enum(OUTLIER_RANKINGS).default('reconstruction'),
    limit: intParam(1, 200).default(24),
    /** The `nextCursor` of the page before: its value and image id. */
    afterValue: z.coerce.number().finite().optional(),
    afterId: intParam(1, 1e15).optional(),
  })
  .refine((q) => (q.afterValue === undefined) === (q.afterId === undefined), 'afterValue and afterId go together');

/** A page of outliers, worst first, with the value that ranks them (reconstruction error or distance to the centre). */
export const GET = route(async (request) => {
  const { library } = await server();
  const { by, limit, afterValue, afterId } = parseQuery(request, query);
  return json(
    await outlierPage(library, {
      by,
      limit,
      ...(afterValue !== undefined && afterId !== undefined ? { after: { value: afterValue, imageId: afterId } } : {}),
    }),
  );
});
