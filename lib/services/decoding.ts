/**
 * Where an image is decoded. Bytes no decoder has seen yet (an upload, a file of a folder being
 * ingested, a query image) and every decode of the web server go to the decoder processes
 * (lib/images/decoder-pool.ts), so a file that crashes libvips or runs away costs that file
 * (AppError('undecodable'), HTTP 422), never the process with every request in flight. Originals
 * that a background job decodes again (re-embedding, reconstruction errors) decoded once already
 * under the same limits; those take the faster in-process path (`prepareImage`).
 *
 * One pool per process, started on first use with the first configuration that asks, kept on
 * globalThis so that every bundle of the web server (app and pages routes) shares it.
 */
import type { Config } from '../config';
import { DecoderPool } from '../images/decoder-pool';
import { prepareImage, type ImageDecode, type PreparedImage, type PrepareOptions } from '../images/image-decoder';
import type { Library } from './library';

const holder = globalThis as unknown as { __latentAtlasDecoders?: DecoderPool };

/** This process's decoder pool, started on first use; null when the configuration decodes in-process (LATENT_ATLAS_DECODERS=0). */
export function decoderPool(config: Readonly<Config>): DecoderPool | null {
  if (config.decoders.processes === 0) return null;
  holder.__latentAtlasDecoders ??= new DecoderPool({ processes: config.decoders.processes, memoryMb: config.decoders.memoryMb });
  return holder.__latentAtlasDecoders;
}

/** `prepareImage` in a decoder process (in this one when the configuration says so). */
export function isolatedDecoder(config: Readonly<Config>): ImageDecode {
  const pool = decoderPool(config);
  return pool ? (bytes, options) => pool.prepare(bytes, options) : prepareImage;
}

/** `prepareImage` for bytes no decoder has seen, or in the web server: in a decoder process. */
export function prepareIsolated(library: Library, bytes: Uint8Array, options: PrepareOptions): Promise<PreparedImage> {
  return isolatedDecoder(library.config)(bytes, options);
}
