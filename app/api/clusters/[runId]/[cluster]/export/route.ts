import { join } from 'node:path';
import { z } from 'zod';
import { AppError } from '@/lib/errors';
import { clusterManifestFile, exportClusterFolder } from '@/lib/services/cluster-service';
import { idParam, json, parseJson, parseQuery, route } from '@/app/_server/respond';
import { server } from '@/app/_server/library';

export const dynamic = 'force-dynamic';
type Context = { params: Promise<{ runId: string; cluster: string }> };

async function target(context: Context) {
  const { runId, cluster } = await context.params;
  if (!/^[0-9]{1,4}$/.test(cluster)) throw new AppError('not_found', `cluster ${cluster.slice(0, 20)} not found`);
  return { runId: idParam(runId, 'cluster run'), cluster: Number(cluster) };
}

/** The cluster's manifest as a CSV or JSON download. */
export const GET = route(async (request, context: Context) => {
  const { library } = await server();
  const { runId, cluster } = await target(context);
  const { format } = parseQuery(request, z.strictObject({ format: z.enum(['csv', 'json']).default('csv') }));
  return new Response(clusterManifestFile(library, runId, cluster, format), {
    headers: {
      'Content-Type': format === 'csv' ? 'text/csv; charset=utf-8' : 'application/json',
      'Content-Disposition': `attachment; filename="cluster-${runId}-${cluster}.${format}"`,
      'X-Content-Type-Options': 'nosniff',
    },
  });
});

/** Copies the cluster's originals into data/exports/<folder> on the server (a plain name, never a path). */
export const POST = route(async (request, context: Context) => {
  const { library, config } = await server();
  const { runId, cluster } = await target(context);
  const { folder } = await parseJson(
    request,
    z.strictObject({
      folder: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,79}$/, 'letters, digits, space, dot, dash or underscore (no slashes)'),
    }),
  );
  if (folder.includes('..')) throw new AppError('invalid_input', 'the folder name may not contain ..');
  const dest = join(config.dataDir, 'exports', folder);
  const files = await exportClusterFolder(library, runId, cluster, dest);
  return json({ files, folder: `data/exports/${folder}` });
});
