import { z } from 'zod';
import { queueJob } from '@/lib/jobs/job-service';
import { listModelInfos } from '@/lib/services/model-service';
import { json, parseJson, route } from '@/app/_server/respond';
import { server } from '@/app/_server/library';

export const dynamic = 'force-dynamic';

/** Registered models with their spec and training record (history, test error). */
export const GET = route(async () => {
  const { library } = await server();
  return json({ models: listModelInfos(library) });
});

const trainBody = z.strictObject({
  /** 'library' (the stored images) or 'fashion-mnist'. */
  data: z.enum(['library', 'fashion-mnist']).default('library'),
  spec: z.record(z.string(), z.unknown()),
  epochs: z.number().int().min(1).max(500).default(20),
  batchSize: z.number().int().min(1).max(1024).default(32),
  activate: z.boolean().default(true),
});

/** Queues the training of a new model (spec validated when queued); activation re-embeds the library. */
export const POST = route(async (request) => {
  const { library } = await server();
  const body = await parseJson(request, trainBody);
  const job = queueJob(library, 'train', {
    data: body.data,
    spec: body.spec,
    options: { epochs: body.epochs, batchSize: body.batchSize, validationSplit: 0 },
    activate: body.activate,
  });
  return json({ job }, { status: 202 });
});
