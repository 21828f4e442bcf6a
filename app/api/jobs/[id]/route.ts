import { jobOrThrow } from '@/lib/jobs/job-service';
import { idParam, json, route } from '@/app/_server/respond';
import { server } from '@/app/_server/library';

export const dynamic = 'force-dynamic';

/** One job: state, progress (done/total, phase, images/s, ETA, loss, loss history), result or error. */
export const GET = route(async (_request, context: { params: Promise<{ id: string }> }) => {
  const { library } = await server();
  return json(jobOrThrow(library, idParam((await context.params).id, 'job')));
});
