/**
 * The child's side of the decoder pool (`decoder-pool.ts`): decodes the files its parent sends
 * with `prepareImage`, one reply per file, and exits when the parent goes away. Whatever happens
 * in here — a libvips crash, an allocation past the memory limit, a decode that never ends —
 * happens to this process alone; the parent refuses the file and starts another child.
 */
import sharp from 'sharp';
import { isAppError } from '../errors';
import type { DecodeRequest, DecoderMessage } from './decoder-pool';
import { prepareImage } from './image-decoder';

/** Serves decode requests on this process's IPC channel until the parent disconnects. */
export function serveDecodeRequests(): void {
  const send = process.send?.bind(process);
  if (!send) throw new Error('a decoder process must be started by DecoderPool (it has no IPC channel)');
  // Every file is new: libvips' operation cache would only hold memory. Parallelism comes from the
  // pool's processes, so each decode runs on one libvips thread (no hand-offs between threads).
  sharp.cache(false);
  sharp.concurrency(1);
  const reply = (message: DecoderMessage) => send(message);
  process.on('message', (request: DecodeRequest) => {
    prepareImage(request.bytes, request.options).then(
      (image) => reply({ type: 'decoded', id: request.id, image }),
      (error: unknown) =>
        reply(
          isAppError(error)
            ? { type: 'refused', id: request.id, code: error.code, message: error.message }
            : { type: 'refused', id: request.id, code: 'invalid_input', message: `cannot decode this file: ${(error as Error).message}` },
        ),
    );
  });
  process.on('disconnect', () => process.exit(0));
  reply({ type: 'ready' });
}
