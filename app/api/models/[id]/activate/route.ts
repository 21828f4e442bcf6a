import { queueActivation } from '@/lib/jobs/job-service';
import { idParam, json, route } from '@/app/_server/respond';
import { server } from '@/app/_server/library';

export const dynamic = 'force-dynamic';

/** Queues the switch to a model: the library is embedded under it first, then search moves over in one step. */
export const POST = route(async (_request, context: { params: Promise<{ id: string }> }) => {
  const { library } = await server();
  return json({ job: queueActivation(library, idParam((await context.params).id, 'model')) }, { status: 202 });
});
