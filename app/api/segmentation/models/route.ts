import { latestSegmentationComparison, listSegmentationModels } from '../../../../lib/services/segmentation-service';
import { json, route } from '../../../_server/respond';
import { server } from '../../../_server/library';

export const dynamic = 'force-dynamic';

/** Saved segmentation models (newest first) with their training and test numbers, and the latest eval:seg comparison. */
export const GET = route(async () => {
  const { config } = await server();
  const models = await listSegmentationModels(config.modelsDir);
  return json({
    models: models.map(({ dir: _dir, ...m }) => m),
    comparison: await latestSegmentationComparison(config.dataDir),
  });
});
