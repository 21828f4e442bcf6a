import { countImages } from '../../../lib/store/images-repo';
import { json, route } from '../../_server/respond';
import { server } from '../../_server/library';

export const dynamic = 'force-dynamic';

/** Liveness and readiness: answers while jobs run (they run in the worker process). */
export const GET = route(async () => {
  const { library, engine } = await server();
  return json({ ok: true, backend: engine.backend, images: countImages(library.db) });
});
