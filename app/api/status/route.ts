import { countImages } from '../../../lib/store/images-repo';
import { listJobs } from '../../../lib/store/jobs-repo';
import { activeModel } from '../../../lib/store/models-repo';
import { countEmbeddings } from '../../../lib/store/embeddings-repo';
import { json, route } from '../../_server/respond';
import { server } from '../../_server/library';

export const dynamic = 'force-dynamic';

/** What the status area shows: backend, counts, the active model, and running/queued/recent jobs. Cheap enough to poll. */
export const GET = route(async () => {
  const { library, engine } = await server();
  const model = activeModel(library.db);
  return json({
    backend: engine.backend,
    images: countImages(library.db),
    model: model ? { id: model.id, name: model.name, latentSize: model.latentSize, embedded: countEmbeddings(library.db, model.id) } : null,
    jobs: listJobs(library.db, { limit: 8 }),
  });
});
