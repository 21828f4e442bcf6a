import { z } from 'zod';
import { queueDeletion } from '@/lib/jobs/job-service';
import { emptyTheTrash, trashContents } from '@/lib/services/trash-service';
import { json, parseJson, route } from '@/app/_server/respond';
import { server } from '@/app/_server/library';

export const dynamic = 'force-dynamic';

/** What is in the trash (restorable until emptied). */
export const GET = route(async () => {
  const { library } = await server();
  return json(trashContents(library));
});

const deleteBody = z.strictObject({ ids: z.array(z.number().int().min(1)).min(1).max(100_000) });

/** Moves images to the trash as one job with progress; its id undoes it (POST /api/trash/restore). */
export const POST = route(async (request) => {
  const { library } = await server();
  const { ids } = await parseJson(request, deleteBody, 2 * 1024 * 1024);
  return json({ job: queueDeletion(library, ids) }, { status: 202 });
});

/** Empties the trash: the images and their files are gone for good. */
export const DELETE = route(async () => {
  const { library } = await server();
  return json(await emptyTheTrash(library));
});
