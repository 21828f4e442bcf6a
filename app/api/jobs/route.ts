import { z } from 'zod';
import { JOB_STATES, recentJobs } from '@/lib/jobs/job-service';
import { intParam, json, parseQuery, route } from '@/app/_server/respond';
import { server } from '@/app/_server/library';

export const dynamic = 'force-dynamic';

const query = z.strictObject({ state: z.enum(JOB_STATES).optional(), limit: intParam(1, 200).default(20) });

/** Jobs, newest first, with their progress: cheap to poll. */
export const GET = route(async (request) => {
  const { library } = await server();
  return json({ jobs: recentJobs(library, parseQuery(request, query)) });
});
