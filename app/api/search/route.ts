import { z } from 'zod';
import { AppError } from '../../../lib/errors';
import { searchSimilar, type SearchFilter, type SearchQuery } from '../../../lib/services/search-service';
import { MODALITIES } from '../../../lib/store/images-repo';
import { json, parseJson, route } from '../../_server/respond';
import { server } from '../../_server/library';
import { readSingleUpload } from '../../_server/upload';

export const dynamic = 'force-dynamic';

const options = z.strictObject({
  k: z.coerce.number().int().min(1).max(100).default(12),
  modality: z.enum(MODALITIES).optional(),
  label: z.string().min(1).max(200).optional(),
  run: z.coerce.number().int().min(1).optional(),
  cluster: z.coerce.number().int().min(0).optional(),
});
const byId = options.extend({ imageId: z.number().int().min(1) });

function filterOf(o: z.infer<typeof options>): SearchFilter | undefined {
  if (o.cluster !== undefined && o.run === undefined) throw new AppError('invalid_input', 'a cluster filter needs the run it belongs to');
  const filter: SearchFilter = {
    ...(o.modality ? { modality: o.modality } : {}),
    ...(o.label ? { label: o.label } : {}),
    ...(o.run !== undefined && o.cluster !== undefined ? { cluster: { runId: o.run, cluster: o.cluster } } : {}),
  };
  return Object.keys(filter).length ? filter : undefined;
}

/**
 * Search by example: multipart with one image file (+ k and filters as fields), or JSON
 * `{ imageId, k, … }` for "more like this".
 */
export const POST = route(async (request) => {
  const { library, config } = await server();
  let query: SearchQuery;
  let o: z.infer<typeof options>;
  if ((request.headers.get('content-type') ?? '').startsWith('application/json')) {
    const body = await parseJson(request, byId);
    query = { imageId: body.imageId };
    o = body;
  } else {
    const { file, fields } = await readSingleUpload(request, config.maxUploadBytes, options, 'the search');
    query = { bytes: file.bytes };
    o = fields;
  }
  const filter = filterOf(o);
  return json(await searchSimilar(library, query, { k: o.k, ...(filter ? { filter } : {}) }));
});
