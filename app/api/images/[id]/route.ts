import { z } from 'zod';
import { AppError } from '../../../../lib/errors';
import { deleteImages } from '../../../../lib/services/model-service';
import { getImage, setImageLabels } from '../../../../lib/store/images-repo';
import { idParam, json, parseJson, route } from '../../../_server/respond';
import { server } from '../../../_server/library';

export const dynamic = 'force-dynamic';
type Context = { params: Promise<{ id: string }> };

async function imageOr404(context: Context) {
  const { library } = await server();
  const { id } = await context.params;
  const image = getImage(library.db, idParam(id));
  if (!image) throw new AppError('not_found', `image ${id} not found`);
  return { library, image };
}

export const GET = route(async (_request, context: Context) => json((await imageOr404(context)).image));

const labelsBody = z.strictObject({ labels: z.array(z.string().trim().min(1).max(100)).max(50) });

/** Replaces the image's labels. */
export const PATCH = route(async (request, context: Context) => {
  const { library, image } = await imageOr404(context);
  const { labels } = await parseJson(request, labelsBody);
  setImageLabels(library.db, image.id, [...new Set(labels)]);
  return json(getImage(library.db, image.id));
});

/** Deletes the image: its row, vectors and index entries go; the original stays until the hash is added again. */
export const DELETE = route(async (_request, context: Context) => {
  const { library, image } = await imageOr404(context);
  deleteImages(library, [image.id]);
  return json({ deleted: image.id });
});
