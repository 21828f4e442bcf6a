import { z } from 'zod';
import { snapshotFile } from '@/lib/services/index-snapshots';
import { parseOrThrow } from '@/lib/validation';
import { route } from '@/app/_server/respond';
import { server } from '@/app/_server/library';

export const dynamic = 'force-dynamic';

const params = z.strictObject({
  run: z.string().regex(/^[a-z]+-\d+$/, 'a run name'),
  file: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a plain file name'),
});

/** One file of a run's index snapshot (the distributed near-duplicate search), streamed to a remote worker (token required). */
export const GET = route(
  async (_request, context: { params: Promise<{ run: string; file: string }> }) => {
    const { library } = await server();
    const { run, file } = parseOrThrow(params, await context.params, 'path');
    const { stream, bytes } = snapshotFile(library, run, file);
    return new Response(stream, {
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(bytes), 'Cache-Control': 'no-store' },
    });
  },
  { worker: true },
);
