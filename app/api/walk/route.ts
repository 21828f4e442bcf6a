import { z } from 'zod';
import { latentWalk } from '@/lib/services/reconstruction-service';
import { intParam, parseQuery, route } from '@/app/_server/respond';
import { server } from '@/app/_server/library';

export const dynamic = 'force-dynamic';

const query = z.strictObject({ from: intParam(1, 1e15), to: intParam(1, 1e15), steps: intParam(2, 32).default(8) });

/** PNG strip decoded from points on the line between two images' latent vectors. */
export const GET = route(async (request) => {
  const { library } = await server();
  const { from, to, steps } = parseQuery(request, query);
  const png = await latentWalk(library, from, to, steps);
  return new Response(new Uint8Array(png), {
    headers: { 'Content-Type': 'image/png', 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-store' },
  });
});
