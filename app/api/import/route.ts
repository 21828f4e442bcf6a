import { z } from 'zod';
import { queueImport } from '@/lib/jobs/job-service';
import { importSettings } from '@/lib/services/import-service';
import { json, parseJson, route } from '@/app/_server/respond';
import { server } from '@/app/_server/library';

export const dynamic = 'force-dynamic';

/** Whether server-side import is on, and the folders it may read (LATENT_ATLAS_IMPORT_ROOTS). */
export const GET = route(async () => {
  const { config } = await server();
  return json(importSettings(config));
});

const importBody = z.strictObject({
  folder: z.string().trim().min(1).max(4096),
  recursive: z.boolean().default(true),
  modality: z.enum(['photo', 'xray']).default('photo'),
  labelFromFolder: z.boolean().default(false),
});

/** Queues the import of a folder on this machine (403 outside the import roots, by `..` or a symbolic link). */
export const POST = route(async (request) => {
  const { library } = await server();
  return json({ job: await queueImport(library, await parseJson(request, importBody)) }, { status: 202 });
});
