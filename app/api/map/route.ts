import { z } from 'zod';
import { queueJob } from '@/lib/jobs/job-service';
import { MAP_CONTENT_TYPE } from '@/lib/services/map-format';
import { activeModelMapBinary, activeModelMapJsonSlices, MAP_METHODS } from '@/lib/services/map-service';
import { intParam, json, jsonSlices, parseJson, parseQuery, route } from '@/app/_server/respond';
import { server } from '@/app/_server/library';

export const dynamic = 'force-dynamic';

const query = z.strictObject({
  method: z.enum(MAP_METHODS).default('pca'),
  run: intParam(1, 1e15).optional(),
  /** binary: typed columns (lib/services/map-format.ts), 20 bytes a point; json: one object a point. */
  format: z.enum(['json', 'binary']).default('json'),
});

/**
 * The 2-D map of the active model's latent space: one point per image with its cluster (in `run`)
 * and first label. A missing PCA map is computed on the spot (fast, exact); UMAP is a job.
 */
export const GET = route(async (request) => {
  const { library } = await server();
  const { method, run, format } = parseQuery(request, query);
  // At a million points the JSON map is 92 MB: sent as it is made, never held whole.
  if (format === 'json') return jsonSlices(await activeModelMapJsonSlices(library, method, run ?? null));
  return new Response(await activeModelMapBinary(library, method, run ?? null), {
    headers: { 'Content-Type': MAP_CONTENT_TYPE, 'Cache-Control': 'no-store' },
  });
});

/** Queues the computation of a map (UMAP takes minutes on large libraries). */
export const POST = route(async (request) => {
  const { library } = await server();
  const { method } = await parseJson(request, z.strictObject({ method: z.enum(MAP_METHODS) }));
  return json({ job: queueJob(library, 'map', { method }) }, { status: 202 });
});
