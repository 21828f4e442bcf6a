import { z } from 'zod';
import { AppError } from '@/lib/errors';
import { clusterPage, memberCursorSchema, nameCluster } from '@/lib/services/cluster-service';
import { idParam, intParam, json, parseJson, parseQuery, route } from '@/app/_server/respond';
import { server } from '@/app/_server/library';

export const dynamic = 'force-dynamic';
type Context = { params: Promise<{ runId: string; cluster: string }> };

async function target(context: Context) {
  const { runId, cluster } = await context.params;
  const c = /^[0-9]{1,4}$/.test(cluster) ? Number(cluster) : NaN;
  if (!Number.isInteger(c)) throw new AppError('not_found', `cluster ${cluster.slice(0, 20)} not found`);
  return { runId: idParam(runId, 'cluster run'), cluster: c };
}

/** A cluster: its summary, a page of members (nearest to the centroid first; `cursor` from the page before) and its outliers. */
export const GET = route(async (request, context: Context) => {
  const { library } = await server();
  const { runId, cluster } = await target(context);
  const { cursor, limit } = parseQuery(
    request,
    z.strictObject({ cursor: memberCursorSchema.optional(), limit: intParam(1, 500).default(120) }),
  );
  return json(clusterPage(library, runId, cluster, { limit, ...(cursor ? { after: cursor } : {}) }));
});

/** Renames the cluster. */
export const PATCH = route(async (request, context: Context) => {
  const { library } = await server();
  const { runId, cluster } = await target(context);
  const { name } = await parseJson(request, z.strictObject({ name: z.string().max(100) }));
  return json(nameCluster(library, runId, cluster, name));
});
