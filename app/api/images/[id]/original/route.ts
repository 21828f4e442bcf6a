import { originalBytes } from '@/lib/services/image-service';
import { idParam, route } from '@/app/_server/respond';
import { server } from '@/app/_server/library';

export const dynamic = 'force-dynamic';

const TYPES: Record<string, string> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  tiff: 'image/tiff',
  gif: 'image/gif',
  avif: 'image/avif',
  dicom: 'application/dicom',
};

/**
 * The original bytes, always as a download (never rendered inline by the browser), with the type
 * decided at ingest; a DICOM file's free-form preamble comes back zeroed.
 */
export const GET = route(async (_request, context: { params: Promise<{ id: string }> }) => {
  const { library } = await server();
  const { image, bytes } = await originalBytes(library, idParam((await context.params).id));
  const extension = image.format === 'jpeg' ? 'jpg' : image.format === 'dicom' ? 'dcm' : image.format;
  return new Response(bytes, {
    headers: {
      'Content-Type': TYPES[image.format] ?? 'application/octet-stream',
      'Content-Disposition': `attachment; filename="image-${image.id}.${extension}"`,
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': "default-src 'none'; sandbox",
    },
  });
});
