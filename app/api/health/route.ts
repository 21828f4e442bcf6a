import { libraryHealth } from '@/lib/services/status-service';
import { json, route } from '@/app/_server/respond';
import { server } from '@/app/_server/library';

export const dynamic = 'force-dynamic';

/** Liveness and readiness: answers while jobs run (they run in the worker process). */
export const GET = route(async () => {
  const { library, engine } = await server();
  return json(libraryHealth(library, engine.backend));
});
