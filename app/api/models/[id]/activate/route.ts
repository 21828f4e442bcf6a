import { AppError } from '../../../../../lib/errors';
import { queueJob } from '../../../../../lib/jobs/job-service';
import { getModel } from '../../../../../lib/store/models-repo';
import { idParam, json, route } from '../../../../_server/respond';
import { server } from '../../../../_server/library';

export const dynamic = 'force-dynamic';

/** Queues the switch to a model: the library is embedded under it first, then search moves over in one step. */
export const POST = route(async (_request, context: { params: Promise<{ id: string }> }) => {
  const { library } = await server();
  const { id } = await context.params;
  const model = getModel(library.db, idParam(id, 'model'));
  if (!model) throw new AppError('not_found', `model ${id} not found`);
  return json({ job: queueJob(library, 'activate', { modelId: model.id }) }, { status: 202 });
});
