import { PREVIEW_SIZE, thumbnailFor } from '@/lib/services/thumbnail-service';
import { idParam, route, webpResponse } from '@/app/_server/respond';
import { server } from '@/app/_server/library';

export const dynamic = 'force-dynamic';

/** A re-encoded WebP preview (≤ 1024 px; DICOM with its window applied): what pages show instead of the raw upload. */
export const GET = route(async (_request, context: { params: Promise<{ id: string }> }) => {
  const { library } = await server();
  const webp = await thumbnailFor(library, idParam((await context.params).id), PREVIEW_SIZE);
  return webpResponse(webp);
});
