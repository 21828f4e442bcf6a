import { z } from 'zod';
import { AppError } from '@/lib/errors';
import { MODALITIES } from '@/lib/services/image-service';
import { searchSimilar, type SearchFilter, type SearchOptions } from '@/lib/services/search-service';
import { json, parseJson, route } from '@/app/_server/respond';
import { server } from '@/app/_server/library';
import { nodeRoute } from '@/app/_server/node-route';
import { readSingleUpload } from '@/app/_server/upload';

/** Node's request as it comes: the JSON body is read by parseJson, an upload streams to busboy. */
export const config = { api: { bodyParser: false } };

const fields = {
  k: z.coerce.number().int().min(1).max(100).default(12),
  modality: z.enum(MODALITIES).optional(),
  label: z.string().min(1).max(200).optional(),
  run: z.coerce.number().int().min(1).optional(),
  cluster: z.coerce.number().int().min(0).optional(),
};
type Fields = z.infer<z.ZodObject<typeof fields>>;
const clusterHasRun = (o: Fields) => o.cluster === undefined || o.run !== undefined;
const needsRun = { message: 'a cluster filter needs the run it belongs to', path: ['cluster'] };

/** The fields as search options: k and the filters that were given. */
function searchOptions(o: Fields): SearchOptions {
  const filter: SearchFilter = {
    ...(o.modality ? { modality: o.modality } : {}),
    ...(o.label ? { label: o.label } : {}),
    ...(o.run !== undefined && o.cluster !== undefined ? { cluster: { runId: o.run, cluster: o.cluster } } : {}),
  };
  return { k: o.k, ...(Object.keys(filter).length ? { filter } : {}) };
}

const uploadForm = z.strictObject(fields).refine(clusterHasRun, needsRun).transform(searchOptions);
const byIdBody = z
  .strictObject({ ...fields, imageId: z.number().int().min(1) })
  .refine(clusterHasRun, needsRun)
  .transform((o) => ({ imageId: o.imageId, options: searchOptions(o) }));

/**
 * Search by example: multipart with one image file (+ k and filters as fields), or JSON
 * `{ imageId, k, … }` for "more like this". A Pages Router route (app/_server/node-route.ts says why).
 */
const POST = route(async (request) => {
  if (request.method !== 'POST') throw new AppError('method_not_allowed', 'search takes POST');
  const { library, config } = await server();
  if ((request.headers.get('content-type') ?? '').startsWith('application/json')) {
    const { imageId, options } = await parseJson(request, byIdBody);
    return json(await searchSimilar(library, { imageId }, options));
  }
  const { file, fields: options } = await readSingleUpload(request, config.maxUploadBytes, uploadForm, 'the search');
  return json(await searchSimilar(library, { bytes: file.bytes }, options));
});

export default nodeRoute(POST);
