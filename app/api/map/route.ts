import { z } from 'zod';
import { queueJob } from '../../../lib/jobs/job-service';
import { encodeMap, MAP_CONTENT_TYPE } from '../../../lib/services/map-format';
import { mapForBrowser, MAP_METHODS } from '../../../lib/services/map-service';
import { intParam, json, parseJson, parseQuery, route } from '../../_server/respond';
import { server } from '../../_server/library';

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
  const map = await mapForBrowser(library, method, run ?? null);
  if (format === 'binary') {
    const empty = { ids: new Uint32Array(0), xy: new Float32Array(0), cluster: new Int32Array(0), label: new Int32Array(0), labels: [] };
    const body = encodeMap(map?.columns ?? empty, { method, stale: map?.stale ?? false });
    return new Response(new Uint8Array(body), { headers: { 'Content-Type': MAP_CONTENT_TYPE, 'Cache-Control': 'no-store' } });
  }
  if (!map) return json({ method, points: [], stale: false });
  const { ids, xy, cluster, label, labels } = map.columns;
  return json({
    method,
    stale: map.stale,
    points: Array.from(ids, (id, i) => ({
      id,
      x: xy[2 * i]!,
      y: xy[2 * i + 1]!,
      cluster: cluster[i]! < 0 ? null : cluster[i]!,
      label: label[i]! < 0 ? null : labels[label[i]!]!,
    })),
  });
});

/** Queues the computation of a map (UMAP takes minutes on large libraries). */
export const POST = route(async (request) => {
  const { library } = await server();
  const { method } = await parseJson(request, z.strictObject({ method: z.enum(MAP_METHODS) }));
  return json({ job: queueJob(library, 'map', { method }) }, { status: 202 });
});
