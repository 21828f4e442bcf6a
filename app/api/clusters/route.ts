import { z } from 'zod';
import { AppError } from '../../../lib/errors';
import { countEmbeddings } from '../../../lib/store/embeddings-repo';
import { queueJob } from '../../../lib/jobs/job-service';
import { listClusterRuns } from '../../../lib/store/clusters-repo';
import { activeModel } from '../../../lib/store/models-repo';
import { json, parseJson, route } from '../../_server/respond';
import { server } from '../../_server/library';

export const dynamic = 'force-dynamic';

/** Cluster runs of the active model, newest first. */
export const GET = route(async () => {
  const { library } = await server();
  const model = activeModel(library.db);
  const runs = listClusterRuns(library.db).filter((r) => r.modelId === model?.id);
  return json({
    runs: runs.map((r) => ({ id: r.id, createdAt: r.createdAt, params: r.params, sizes: r.result.clusters.map((c) => c.size) })),
  });
});

const body = z.strictObject({
  k: z.union([z.number().int().min(2).max(200), z.literal('auto')]),
  range: z.tuple([z.number().int().min(2).max(200), z.number().int().min(2).max(200)]).optional(),
  umap: z.boolean().default(false),
  seed: z.number().int().min(0).default(0),
});

/**
 * Queues a clustering of the active model's vectors; the answer is the job to watch. What cannot
 * work (no model, too few images for k) is refused here, not as a failed job later.
 */
export const POST = route(async (request) => {
  const { library } = await server();
  const params = await parseJson(request, body);
  const model = activeModel(library.db);
  if (!model) throw new AppError('invalid_input', 'no active model yet: train one first, then cluster');
  const images = countEmbeddings(library.db, model.id);
  const smallest = params.k === 'auto' ? (params.range?.[0] ?? 2) : params.k;
  if (images < smallest)
    throw new AppError(
      'invalid_input',
      images === 0
        ? 'the library has no images yet: add some first'
        : `k = ${smallest} needs at least ${smallest} images; the library has ${images}`,
    );
  return json({ job: queueJob(library, 'cluster', params) }, { status: 202 });
});
