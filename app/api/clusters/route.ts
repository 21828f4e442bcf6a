import { z } from 'zod';
import { queueClustering } from '@/lib/jobs/job-service';
import { activeModelClusterRuns } from '@/lib/services/cluster-service';
import { json, parseJson, route } from '@/app/_server/respond';
import { server } from '@/app/_server/library';

export const dynamic = 'force-dynamic';

/** Cluster runs of the active model, newest first. */
export const GET = route(async () => {
  const { library } = await server();
  return json({ runs: activeModelClusterRuns(library) });
});

const body = z.strictObject({
  k: z.union([z.number().int().min(2).max(200), z.literal('auto')]),
  range: z.tuple([z.number().int().min(2).max(200), z.number().int().min(2).max(200)]).optional(),
  umap: z.boolean().default(false),
  seed: z.number().int().min(0).default(0),
});

/** Queues a clustering of the active model's vectors; the answer is the job to watch (what cannot work is refused now). */
export const POST = route(async (request) => {
  const { library } = await server();
  return json({ job: queueClustering(library, await parseJson(request, body)) }, { status: 202 });
});
