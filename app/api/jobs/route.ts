import { z } from 'zod';
import { JOB_STATES, listJobs } from '../../../lib/store/jobs-repo';
import { intParam, json, parseQuery, route } from '../../_server/respond';
import { server } from '../../_server/library';

export const dynamic = 'force-dynamic';

/** Jobs, newest first, with their progress: cheap to poll. */
export const GET = route(async (request) => {
  const { library } = await server();
  const { state, limit } = parseQuery(
    request,
    z.strictObject({ state: z.enum(JOB_STATES).optional(), limit: intParam(1, 200).default(20) }),
  );
  return json({ jobs: listJobs(library.db, { ...(state ? { states: [state] } : {}), limit }) });
});
