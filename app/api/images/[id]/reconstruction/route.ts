import { z } from 'zod';
import { reconstructImage } from '@/lib/services/reconstruction-service';
import { idParam, json, parseQuery, route } from '@/app/_server/respond';
import { server } from '@/app/_server/library';

export const dynamic = 'force-dynamic';

const query = z.strictObject({ noise: z.coerce.number().min(0).max(1).default(0), seed: z.coerce.number().int().min(0).default(1) });

/** The image's latent vector, the model's input and reconstruction (PNG data URLs) and the error; `noise` corrupts the input first. */
export const GET = route(async (request, context: { params: Promise<{ id: string }> }) => {
  const { library } = await server();
  const { noise, seed } = parseQuery(request, query);
  const r = await reconstructImage(library, idParam((await context.params).id), { noise, seed });
  const url = (png: Buffer) => `data:image/png;base64,${png.toString('base64')}`;
  return json({ modelId: r.modelId, latent: r.latent, error: r.error, noise, input: url(r.input), output: url(r.output) });
});
