import { z } from 'zod';
import { isolatedDecoder } from '@/lib/services/decoding';
import { segmentUploadOverlay } from '@/lib/services/segmentation-service';
import { json, route } from '@/app/_server/respond';
import { server } from '@/app/_server/library';
import { readSingleUpload } from '@/app/_server/upload';

export const dynamic = 'force-dynamic';

const fields = z.strictObject({
  model: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,200}$/, 'a model name from the list')
    .optional(),
});

/** Segments one uploaded image: the mask as a transparent PNG overlay at the image's size, and its area. */
export const POST = route(async (request) => {
  const { config } = await server();
  const { file, fields: form } = await readSingleUpload(request, config.maxUploadBytes, fields, 'segmentation');
  const { overlay, ...result } = await segmentUploadOverlay(config.modelsDir, file.bytes, {
    ...(form.model ? { model: form.model } : {}),
    decode: isolatedDecoder(config), // a decoder crash costs this request, not the server
  });
  return json({ ...result, overlay: `data:image/png;base64,${overlay.toString('base64')}` });
});
