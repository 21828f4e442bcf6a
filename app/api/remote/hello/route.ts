import { remoteHello } from '@/lib/services/model-service';
import { json, route } from '@/app/_server/respond';
import { server } from '@/app/_server/library';

export const dynamic = 'force-dynamic';

/** A remote worker's first call: checks its token and names the active model (id and fingerprint). */
export const GET = route(
  async () => {
    const { library } = await server();
    return json(await remoteHello(library));
  },
  { worker: true },
);
