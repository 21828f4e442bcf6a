import { queueJob } from '@/lib/jobs/job-service';
import { json, route } from '@/app/_server/respond';
import { server } from '@/app/_server/library';

export const dynamic = 'force-dynamic';

/** Queues the ingest of the bundled sample set: 100 flower photographs labelled by folder (data/samples/flowers/ATTRIBUTION.md). */
export const POST = route(async () => {
  const { library, config } = await server();
  return json(
    { job: queueJob(library, 'ingest', { folder: config.samplesDir, modality: 'photo', labelFromFolder: true }) },
    { status: 202 },
  );
});
