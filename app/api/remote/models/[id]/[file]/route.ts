import { z } from 'zod';
import { MODEL_FILES } from '@/lib/models/model-io';
import { modelFile } from '@/lib/services/model-service';
import { parseOrThrow } from '@/lib/validation';
import { idParam, route } from '@/app/_server/respond';
import { server } from '@/app/_server/library';

export const dynamic = 'force-dynamic';

const params = z.strictObject({ id: z.string(), file: z.enum(MODEL_FILES) });

/** One file of a registered model (model.json, weights.bin) for a remote worker, with the model's fingerprint. */
export const GET = route(
  async (_request, context: { params: Promise<{ id: string; file: string }> }) => {
    const { library } = await server();
    const { id, file } = parseOrThrow(params, await context.params, 'path');
    const { bytes, fingerprint } = await modelFile(library, idParam(id, 'model'), file);
    return new Response(new Uint8Array(bytes), {
      headers: { 'Content-Type': 'application/octet-stream', 'X-Model-Fingerprint': fingerprint, 'Cache-Control': 'no-store' },
    });
  },
  { worker: true },
);
