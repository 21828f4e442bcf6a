import { z } from 'zod';
import { mergeClusters, moveToCluster, splitCluster } from '@/lib/services/cluster-edit-service';
import { idParam, json, parseJson, route } from '@/app/_server/respond';
import { server } from '@/app/_server/library';

export const dynamic = 'force-dynamic';

const cluster = z.number().int().min(0).max(10_000);
const edit = z.discriminatedUnion('op', [
  z.strictObject({ op: z.literal('move'), imageIds: z.array(z.number().int().min(1)).min(1).max(10_000), to: cluster }),
  z.strictObject({ op: z.literal('merge'), from: cluster, into: cluster }),
  z.strictObject({ op: z.literal('split'), cluster, k: z.number().int().min(2).max(20) }),
]);

/** A correction by hand: move images, merge two clusters, or split one. Moves and merges are kept for later runs. */
export const POST = route(async (request, context: { params: Promise<{ runId: string }> }) => {
  const { library } = await server();
  const runId = idParam((await context.params).runId, 'cluster run');
  const body = await parseJson(request, edit, 1024 * 1024);
  if (body.op === 'move') return json(moveToCluster(library, runId, body.imageIds, body.to));
  if (body.op === 'merge') return json(mergeClusters(library, runId, body.from, body.into));
  return json(splitCluster(library, runId, body.cluster, body.k));
});
