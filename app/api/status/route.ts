import { libraryStatus } from '@/lib/services/status-service';
import { json, route } from '@/app/_server/respond';
import { server } from '@/app/_server/library';

export const dynamic = 'force-dynamic';

/** What the status area shows: backend, counts, the active model, and running/queued/recent jobs. Cheap enough to poll. */
export const GET = route(async () => {
  const { library, engine } = await server();
  return json(libraryStatus(library, engine.backend));
});
