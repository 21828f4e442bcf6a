import { PREVIEW_SIZE, thumbnailFor } from '../../../../../lib/services/thumbnail-service';
import { idParam, route } from '../../../../_server/respond';
import { server } from '../../../../_server/library';

export const dynamic = 'force-dynamic';

/** A re-encoded WebP preview (≤ 1024 px; DICOM with its window applied): what pages show instead of the raw upload. */
export const GET = route(async (_request, context: { params: Promise<{ id: string }> }) => {
  const { library } = await server();
  const webp = await thumbnailFor(library, idParam((await context.params).id), PREVIEW_SIZE);
  return new Response(new Uint8Array(webp), {
    headers: { 'Content-Type': 'image/webp', 'Cache-Control': 'private, max-age=31536000, immutable', 'X-Content-Type-Options': 'nosniff' },
  });
});
