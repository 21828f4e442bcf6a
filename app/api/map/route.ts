import { z } from 'zod';
import { queueJob } from '../../../lib/jobs/job-service';
import { computeMap, MAP_METHODS, storedMap } from '../../../lib/services/map-service';
import { runAssignments } from '../../../lib/store/clusters-repo';
import { countEmbeddings } from '../../../lib/store/embeddings-repo';
import { getImages } from '../../../lib/store/images-repo';
import { activeModel } from '../../../lib/store/models-repo';
import { intParam, json, parseJson, parseQuery, route } from '../../_server/respond';
import { server } from '../../_server/library';

export const dynamic = 'force-dynamic';

const query = z.strictObject({ method: z.enum(MAP_METHODS).default('pca'), run: intParam(1, 1e15).optional() });

/**
 * The 2-D map of the active model's latent space: one point per image with its cluster (in `run`)
 * and first label. A missing PCA map is computed on the spot (fast, exact); UMAP is a job.
 */
export const GET = route(async (request) => {
  const { library } = await server();
  const { method, run } = parseQuery(request, query);
  const model = activeModel(library.db);
  if (!model) return json({ method, points: [], stale: false });
  let points = storedMap(library, method);
  const embedded = countEmbeddings(library.db, model.id);
  if (method === 'pca' && points.length !== embedded && embedded >= 2) points = await computeMap(library, 'pca');
  const clusters = run ? runAssignments(library.db, run) : null;
  const images = getImages(
    library.db,
    points.map((p) => p.imageId),
  );
  return json({
    method,
    stale: points.length !== embedded,
    points: points
      .filter((p) => images.has(p.imageId))
      .map((p) => ({
        id: p.imageId,
        x: p.x,
        y: p.y,
        cluster: clusters?.get(p.imageId) ?? null,
        label: images.get(p.imageId)!.labels[0] ?? null,
      })),
  });
});

/** Queues the computation of a map (UMAP takes minutes on large libraries). */
export const POST = route(async (request) => {
  const { library } = await server();
  const { method } = await parseJson(request, z.strictObject({ method: z.enum(MAP_METHODS) }));
  return json({ job: queueJob(library, 'map', { method }) }, { status: 202 });
});
