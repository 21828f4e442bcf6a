import { z } from 'zod';
import { deleteImage, imageOrThrow, relabelImage } from '@/lib/services/image-service';
import { idParam, json, parseJson, route } from '@/app/_server/respond';
import { server } from '@/app/_server/library';

export const dynamic = 'force-dynamic';
type Context = { params: Promise<{ id: string }> };

export const GET = route(async (_request, context: Context) => {
  const { library } = await server();
  return json(imageOrThrow(library, idParam((await context.params).id)));
});

const labelsBody = z.strictObject({ labels: z.array(z.string().trim().min(1).max(100)).max(50) });

/** Replaces the image's labels. */
export const PATCH = route(async (request, context: Context) => {
  const { library } = await server();
  const id = idParam((await context.params).id);
  const { labels } = await parseJson(request, labelsBody);
  return json(relabelImage(library, id, labels));
});

/** Deletes the image: its row, vectors and index entries go; the original stays until the hash is added again. */
export const DELETE = route(async (_request, context: Context) => {
  const { library } = await server();
  const id = idParam((await context.params).id);
  deleteImage(library, id);
  return json({ deleted: id });
});
