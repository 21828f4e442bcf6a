import { readFile } from 'node:fs/promises';
import { AppError } from '../../../../../lib/errors';
import { clearPreamble } from '../../../../../lib/images/dicom';
import { originalPath } from '../../../../../lib/services/library';
import { getImage } from '../../../../../lib/store/images-repo';
import { idParam, route } from '../../../../_server/respond';
import { server } from '../../../../_server/library';

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
  const { library, config } = await server();
  const image = getImage(library.db, idParam((await context.params).id));
  if (!image) throw new AppError('not_found', `image ${(await context.params).id} not found`);
  const bytes = await readFile(originalPath(config, image.contentHash)).catch((error: unknown) => {
    throw new AppError('internal', `the original of image ${image.id} is missing`, { cause: error });
  });
  const extension = image.format === 'jpeg' ? 'jpg' : image.format === 'dicom' ? 'dcm' : image.format;
  return new Response(image.format === 'dicom' ? clearPreamble(bytes) : new Uint8Array(bytes), {
    headers: {
      'Content-Type': TYPES[image.format] ?? 'application/octet-stream',
      'Content-Disposition': `attachment; filename="image-${image.id}.${extension}"`,
      'X-Content-Type-Options': 'nosniff',
      'Content-Security-Policy': "default-src 'none'; sandbox",
    },
  });
});
