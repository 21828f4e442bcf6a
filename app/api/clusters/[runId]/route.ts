import { clusterRunOrThrow } from '@/lib/services/cluster-service';
import { idParam, json, route } from '@/app/_server/respond';
import { server } from '@/app/_server/library';

export const dynamic = 'force-dynamic';

/** One run: parameters, the elbow/silhouette table for automatic k, and a summary per cluster. */
export const GET = route(async (_request, context: { params: Promise<{ runId: string }> }) => {
  const { library } = await server();
  return json(clusterRunOrThrow(library, idParam((await context.params).runId, 'cluster run')));
});
