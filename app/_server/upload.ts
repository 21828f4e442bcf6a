/**
 * Multipart uploads read while they stream (busboy), with limits enforced on the way in: a file
 * over the per-file limit, too many files or fields, or a body over the total limit ends the
 * request with a 413 — never a silently truncated file. Bytes stay in memory (files are at most
 * the configured limit) and are handed to ingest, which decides their format from the bytes.
 */
import { once } from 'node:events';
import busboy from 'busboy';
import type { z } from 'zod';
import { Budget } from '@/lib/budget';
import type { Config } from '@/lib/config';
import { AppError } from '@/lib/errors';
import { parseOrThrow } from '@/lib/validation';

/** Bytes of a refused body still read (and dropped) after the answer, so that keep-alive connections survive. */
const DRAIN_LIMIT = 256 * 1024 * 1024;

export interface UploadedFile {
  /** The name the client sent: metadata only, never a path. */
  name: string;
  bytes: Uint8Array;
}

export interface UploadLimits {
  maxFileBytes: number;
  maxFiles: number;
  maxTotalBytes: number;
}

/** Keeps a client's file name printable and short (it is shown, never used as a path). */
export function safeName(name: string): string {
  const cleaned = [...name]
    .filter((c) => c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) !== 0x7f)
    .join('')
    .slice(0, 255);
  return cleaned || 'unnamed';
}

export async function readUploads(
  request: Request,
  limits: UploadLimits,
): Promise<{ files: UploadedFile[]; fields: Record<string, string> }> {
  const type = request.headers.get('content-type') ?? '';
  if (!type.toLowerCase().startsWith('multipart/form-data'))
    throw new AppError('invalid_input', `expected a multipart/form-data upload; got ${type.slice(0, 60) || 'no Content-Type'}`);
  const declared = Number(request.headers.get('content-length') ?? 0);
  if (declared > limits.maxTotalBytes)
    throw new AppError('too_large', `the upload is ${declared} bytes; the limit is ${limits.maxTotalBytes} bytes`);
  if (!request.body) throw new AppError('invalid_input', 'the upload has no body');

  const files: UploadedFile[] = [];
  const fields: Record<string, string> = {};
  const reader = request.body.getReader();
  await new Promise<void>((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: { 'content-type': type },
        // The whole name a client sent (a folder upload sends "folder/file.jpg") is kept as metadata; it is never a path here.
        preservePath: true,
        // Browsers send file names as raw UTF-8 bytes; busboy would read them as Latin-1.
        defParamCharset: 'utf8',
        limits: { fileSize: limits.maxFileBytes, files: limits.maxFiles, fields: 20, fieldSize: 4096, parts: limits.maxFiles + 20 },
      });
    } catch (error) {
      reject(new AppError('invalid_input', `malformed multipart upload: ${(error as Error).message}`));
      return;
    }
    let total = 0;
    let failed = false;
    // A file's last chunk can arrive after the parser's 'close': wait for every file stream.
    const pending: Promise<void>[] = [];
    const fail = (error: AppError) => {
      if (failed) return;
      failed = true;
      reject(error);
    };
    parser.on('file', (_field, stream, info) => {
      const chunks: Buffer[] = [];
      const name = safeName(info.filename ?? 'unnamed');
      stream.on('data', (chunk: Buffer) => {
        total += chunk.length;
        if (total > limits.maxTotalBytes) fail(new AppError('too_large', `the upload is over the limit of ${limits.maxTotalBytes} bytes`));
        else chunks.push(chunk);
      });
      stream.on('limit', () =>
        fail(
          new AppError('too_large', `${name} is larger than the limit of ${Math.round(limits.maxFileBytes / 1024 / 1024)} MiB per file`),
        ),
      );
      const index = pending.length;
      pending.push(
        new Promise<void>((done) => {
          stream.on('end', () => {
            if (!failed) files[index] = { name, bytes: new Uint8Array(Buffer.concat(chunks)) };
            done();
          });
          stream.on('error', () => done());
        }),
      );
    });
    parser.on('field', (name, value, info) => {
      if (info.valueTruncated) fail(new AppError('too_large', `form field ${safeName(name).slice(0, 40)} is too long`));
      else fields[name] = value;
    });
    parser.on('filesLimit', () => fail(new AppError('too_large', `at most ${limits.maxFiles} files per upload`)));
    parser.on('partsLimit', () => fail(new AppError('too_large', 'too many parts in this upload')));
    parser.on('fieldsLimit', () => fail(new AppError('too_large', 'too many form fields in this upload')));
    parser.on('error', (error: Error) => fail(new AppError('invalid_input', `malformed multipart upload: ${error.message}`)));
    parser.on('close', () => {
      void Promise.all(pending).then(() => {
        if (!failed) resolve();
      });
    });
    // Chunks go to busboy as Buffers: it searches for boundaries with Buffer semantics, which a
    // plain Uint8Array (what web streams carry) does not have.
    void (async () => {
      try {
        let discarded = 0;
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          if (failed) {
            // The answer is sent; read the rest (up to a bound) so the client gets it on a usable connection.
            discarded += value.byteLength;
            if (discarded > DRAIN_LIMIT) {
              await reader.cancel();
              break;
            }
            continue;
          }
          if (!parser.write(Buffer.from(value.buffer, value.byteOffset, value.byteLength))) await once(parser, 'drain');
        }
        if (!failed) parser.end();
      } catch {
        fail(new AppError('invalid_input', 'the upload was aborted before it ended'));
      }
    })();
  });
  return { files: files.filter(Boolean), fields };
}

/** Reads a body to its end (up to DRAIN_LIMIT) and drops it: nothing is kept. */
async function discardBody(request: Request): Promise<void> {
  const reader = request.body?.getReader();
  if (!reader) return;
  try {
    for (let read = 0; read <= DRAIN_LIMIT;) {
      const { done, value } = await reader.read();
      if (done) return;
      read += value.byteLength;
    }
    await reader.cancel();
  } catch {
    // the client went away
  }
}

const holder = globalThis as unknown as { __latentAtlasUploadMemory?: Budget };

/**
 * Runs `handle` (which reads and ingests an upload) once the upload's body fits in the process's
 * upload memory (config.uploadMemory): its declared Content-Length, or the per-file limit when it
 * declares none. Until then its body is not read (TCP holds the client back); after the wait,
 * AppError('busy') → 503 with Retry-After, once the body has been read and dropped (nothing kept).
 */
export async function withUploadMemory<T>(request: Request, config: Readonly<Config>, handle: () => Promise<T>): Promise<T> {
  const budget = (holder.__latentAtlasUploadMemory ??= new Budget(config.uploadMemory.bytes, 'upload memory'));
  const declared = Number(request.headers.get('content-length') ?? 0);
  let release: () => void;
  try {
    release = await budget.take(declared > 0 ? declared : config.maxUploadBytes, config.uploadMemory.waitMs);
  } catch (error) {
    // Read and drop the body before the 503: a client still sending it would otherwise meet a
    // closed connection (EPIPE) instead of the answer that tells it when to come back.
    await discardBody(request);
    throw error;
  }
  try {
    return await handle();
  } finally {
    release();
  }
}

/** One file (within `maxBytes`) and form fields checked against `schema`: the shape of search and segment requests. */
export async function readSingleUpload<T>(
  request: Request,
  maxBytes: number,
  schema: z.ZodType<T>,
  what: string,
): Promise<{ file: UploadedFile; fields: T }> {
  const { files, fields } = await readUploads(request, { maxFileBytes: maxBytes, maxFiles: 1, maxTotalBytes: maxBytes + 65536 });
  const file = files[0];
  if (!file) throw new AppError('invalid_input', `${what} needs one image file`);
  return { file, fields: parseOrThrow(schema, fields, 'form fields') };
}
