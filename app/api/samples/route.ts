import { readCredits } from '@/lib/services/credits';
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

/** The sample set's credits (its ATTRIBUTION.md), as blocks the Library page shows. */
export const GET = route(async () => {
  const { config } = await server();
  return json({ credits: await readCredits(config.samplesDir) });
});
