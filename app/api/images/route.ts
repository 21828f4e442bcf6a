import { createHash } from 'node:crypto';
import { z } from 'zod';
import { AppError, ERROR_STATUS, type ErrorCode } from '../../../lib/errors';
import { ingestSources } from '../../../lib/services/ingest-service';
import { findImageByHash, getImage, labelCounts, listImages, MODALITIES, setImageLabels } from '../../../lib/store/images-repo';
import { intParam, json, parseQuery, route } from '../../_server/respond';
import { server } from '../../_server/library';
import { readUploads } from '../../_server/upload';

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
  const { cursor, ...query } = parseQuery(request, listQuery);
  return json({ ...listImages(library.db, { ...query, ...(cursor ? { before: cursor } : {}) }), labels: labelCounts(library.db) });
});

const uploadFields = z.strictObject({ modality: z.enum(['photo', 'xray']).default('photo'), label: z.string().max(200).optional() });

/**
 * Upload: multipart files (field name free). Each file is added, recognised as already stored, or
 * refused with its reason; the answer lists every file in order.
 */
export const POST = route(async (request) => {
  const { library, config } = await server();
  const { files, fields } = await readUploads(request, {
    maxFileBytes: config.maxUploadBytes,
    maxFiles: 200,
    maxTotalBytes: config.maxUploadBytes * 4,
  });
  const options = uploadFields.safeParse(fields);
  if (!options.success)
    throw new AppError(
      'invalid_input',
      `invalid form fields: ${options.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  const results: { name: string; status: 'added' | 'duplicate' | 'refused'; id?: number; code?: string; reason?: string }[] = [];
  // One file at a time so that each gets its own verdict.
  for (const file of files) {
    const report = await ingestSources(library, [{ name: file.name, read: async () => file.bytes }], { modality: options.data.modality });
    const refused = report.skipped[0];
    const id = report.ids[0] ?? findImageByHash(library.db, createHash('sha256').update(file.bytes).digest('hex'))?.id;
    if (refused) results.push({ name: file.name, status: 'refused', code: refused.code, reason: refused.reason });
    else results.push({ name: file.name, status: report.ids[0] !== undefined ? 'added' : 'duplicate', ...(id ? { id } : {}) });
    if (id && options.data.label) {
      const labels = getImage(library.db, id)?.labels ?? [];
      if (!labels.includes(options.data.label)) setImageLabels(library.db, id, [...labels, options.data.label]);
    }
  }
  if (files.length === 0) throw new AppError('invalid_input', 'the upload holds no files');
  // A single refused file is an error with its own code (415 unsupported format, 400 corrupt…).
  const only = results.length === 1 ? results[0]! : null;
  if (only?.status === 'refused')
    return json(
      { error: { code: only.code, message: `${only.name}: ${only.reason}` }, results },
      { status: ERROR_STATUS[only.code as ErrorCode] },
    );
  return json({ results });
});
