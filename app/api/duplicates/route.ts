import { z } from 'zod';
import { jobOrThrow, queueJob } from '@/lib/jobs/job-service';
import { reviewScan } from '@/lib/services/duplicates-service';
import { intParam, json, parseJson, parseQuery, route } from '@/app/_server/respond';
import { server } from '@/app/_server/library';

export const dynamic = 'force-dynamic';

/**
 * Starts a near-duplicate search over the library as a job (a minute at a million images: in the
 * worker, or its remote workers, with progress and cancel, never in the web server), or joins the
 * one already running with the same threshold. `fraction`: the threshold as a share of the typical
 * distance between unrelated images.
 */
export const POST = route(async (request) => {
  const { library } = await server();
  const { fraction } = await parseJson(request, z.strictObject({ fraction: z.number().min(0).max(1).optional() }));
  return json({ job: queueJob(library, 'duplicates', fraction === undefined ? {} : { fraction }) }, { status: 202 });
});

const query = z.strictObject({ job: intParam(1, 1e15) });

/** The groups a finished search (`job`) found, for review: images best first, the one kept, those that would go; deleted images left out. */
export const GET = route(async (request) => {
  const { library } = await server();
  const { job } = parseQuery(request, query);
  return json(reviewScan(library, jobOrThrow(library, job)));
});
