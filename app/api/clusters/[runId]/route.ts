import { AppError } from '../../../../lib/errors';
import { getClusterRun } from '../../../../lib/store/clusters-repo';
import { idParam, json, route } from '../../../_server/respond';
import { server } from '../../../_server/library';

export const dynamic = 'force-dynamic';

/** One run: parameters, the elbow/silhouette table for automatic k, and a summary per cluster. */
export const GET = route(async (_request, context: { params: Promise<{ runId: string }> }) => {
  const { library } = await server();
  const { runId } = await context.params;
  const run = getClusterRun(library.db, idParam(runId, 'cluster run'));
  if (!run) throw new AppError('not_found', `cluster run ${runId} not found`);
  return json(run);
});
