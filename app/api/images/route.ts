import { z } from 'zod';
import { ERROR_STATUS } from '@/lib/errors';
import { libraryPage, MODALITIES } from '@/lib/services/image-service';
import { ingestUploads } from '@/lib/services/ingest-service';
import { parseOrThrow } from '@/lib/validation';
import { intParam, json, parseQuery, route } from '@/app/_server/respond';
import { server } from '@/app/_server/library';
import { readUploads } from '@/app/_server/upload';

export const dynamic = 'force-dynamic';

const listQuery = z.strictObject({
  cursor: intParam(1, 1e15).optional(),
  limit: intParam(1, 500).default(100),
  modality: z.enum(MODALITIES).optional(),
  label: z.string().max(200).optional(),
});

/** A page of the library (newest first; `cursor`: the `nextCursor` of the page before) with the total and the labels in use. */
export const GET = route(async (request) => {
  const { library } = await server();
  return json(libraryPage(library, parseQuery(request, listQuery)));
});

const uploadFields = z.strictObject({ modality: z.enum(['photo', 'xray']).default('photo'), label: z.string().max(200).optional() });

/**
 * Upload: multipart files (field name free). Each file is added, recognised as already stored, or
 * refused with its reason; the answer lists every file in order. A single refused file is an
 * error with its own code (415 unsupported format, 400 corrupt…).
 */
export const POST = route(async (request) => {
  const { library, config } = await server();
  const { files, fields } = await readUploads(request, {
    maxFileBytes: config.maxUploadBytes,
    maxFiles: 200,
    maxTotalBytes: config.maxUploadBytes * 4,
  });
  const results = await ingestUploads(library, files, parseOrThrow(uploadFields, fields, 'form fields'));
  const only = results.length === 1 ? results[0]! : null;
  if (only?.status === 'refused')
    return json({ error: { code: only.code, message: `${only.name}: ${only.reason}` }, results }, { status: ERROR_STATUS[only.code] });
  return json({ results });
});
