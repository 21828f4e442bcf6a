import { z } from 'zod';
import { encodeMaskOverlay } from '../../../lib/images/mask-png';
import { segmentUpload } from '../../../lib/services/segmentation-service';
import { json, route } from '../../_server/respond';
import { server } from '../../_server/library';
import { readSingleUpload } from '../../_server/upload';

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
  const prediction = await segmentUpload(config.modelsDir, file.bytes, form.model ? { model: form.model } : {});
  const overlay = await encodeMaskOverlay(prediction.classes, prediction.width, prediction.height);
  return json({
    model: prediction.model,
    width: prediction.width,
    height: prediction.height,
    areaFraction: prediction.areaFraction,
    classFractions: prediction.classFractions,
    overlay: `data:image/png;base64,${overlay.toString('base64')}`,
  });
});
