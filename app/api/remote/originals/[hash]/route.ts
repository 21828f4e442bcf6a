import { z } from 'zod';
import { originalByHash } from '@/lib/services/image-service';
import { parseOrThrow } from '@/lib/validation';
import { route } from '@/app/_server/respond';
import { server } from '@/app/_server/library';

export const dynamic = 'force-dynamic';

const params = z.strictObject({ hash: z.string().regex(/^[0-9a-f]{64}$/, 'a sha-256 in hex') });

/** A stored original by content hash, for a remote worker (token required): raw bytes, never rendered. */
export const GET = route(
  async (_request, context: { params: Promise<{ hash: string }> }) => {
    const { library } = await server();
    const { hash } = parseOrThrow(params, await context.params, 'path');
    return new Response(new Uint8Array(await originalByHash(library, hash)), {
      headers: { 'Content-Type': 'application/octet-stream', 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-store' },
    });
  },
  { worker: true },
);
