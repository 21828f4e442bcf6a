import { segmentationOverview } from '@/lib/services/segmentation-service';
import { json, route } from '@/app/_server/respond';
import { server } from '@/app/_server/library';

export const dynamic = 'force-dynamic';

/** Saved segmentation models (newest first) with their training and test numbers, and the latest eval:seg comparison. */
export const GET = route(async () => {
  const { config } = await server();
  return json(await segmentationOverview(config.modelsDir, config.dataDir));
});
