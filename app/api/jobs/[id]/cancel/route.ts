import { cancelJob } from '@/lib/jobs/job-service';
import { idParam, json, route } from '@/app/_server/respond';
import { server } from '@/app/_server/library';

export const dynamic = 'force-dynamic';

/** Asks a job to stop: a queued one is cancelled at once, a running one within a few seconds. */
export const POST = route(async (_request, context: { params: Promise<{ id: string }> }) => {
  const { library } = await server();
  return json(cancelJob(library, idParam((await context.params).id, 'job')));
});
