import { thumbnailFor } from '@/lib/services/thumbnail-service';
import { idParam, route, webpResponse } from '@/app/_server/respond';
import { server } from '@/app/_server/library';

export const dynamic = 'force-dynamic';

/** 160-px WebP thumbnail, made on first view; immutable for an id. */
export const GET = route(async (_request, context: { params: Promise<{ id: string }> }) => {
  const { library } = await server();
  const webp = await thumbnailFor(library, idParam((await context.params).id));
  return webpResponse(webp);
});
