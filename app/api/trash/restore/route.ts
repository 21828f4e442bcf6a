import { z } from 'zod';
import { restoreFromTrash } from '@/lib/services/trash-service';
import { json, parseJson, route } from '@/app/_server/respond';
import { server } from '@/app/_server/library';

export const dynamic = 'force-dynamic';

const restoreBody = z.strictObject({ jobId: z.number().int().min(1).optional() });

/** Undo: restores what job `jobId` moved to the trash, or everything in it (each image under a new id). */
export const POST = route(async (request) => {
  const { library } = await server();
  return json(restoreFromTrash(library, await parseJson(request, restoreBody)));
});
