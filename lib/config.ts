/**
 * Configuration from the environment, parsed once (zod) into a frozen object. Adapters take
 * option objects; nothing else reads process.env.
 */
import { availableParallelism } from 'node:os';
import { delimiter, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { BACKEND_NAMES } from './engine/backend';
import { AppError } from './errors';

const envSchema = z.object({
  /** Force a TensorFlow.js backend instead of the automatic choice. Default: automatic. */
  LATENT_ATLAS_BACKEND: z.enum(BACKEND_NAMES).optional(),
  /** Where models, the database and the index live. Default ./data. */
  LATENT_ATLAS_DATA_DIR: z.string().min(1).default('data'),
  /** Worker threads for training and embedding. Default: the number of CPU cores. */
  LATENT_ATLAS_WORKERS: z.coerce.number().int().min(1).max(64).optional(),
  /** Address the web app binds to. Default 127.0.0.1 (this machine only). Any other address needs LATENT_ATLAS_TOKEN. */
  LATENT_ATLAS_HOST: z.string().min(1).default('127.0.0.1'),
  /** Port of the web app. Default 3000. */
  LATENT_ATLAS_PORT: z.coerce.number().int().min(1).max(65535).default(3000),
  /** Access token every page and API call must carry when the app is not bound to loopback (≥ 16 characters). */
  LATENT_ATLAS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Largest accepted upload per file, in MiB. Default 50. */
  LATENT_ATLAS_MAX_UPLOAD_MB: z.coerce.number().int().min(1).max(1024).default(50),
  /**
   * Seconds a client has to send a request's headers. Default 10: a browser sends them at once; a
   * client trickling them (slowloris) holds a connection no longer than this.
   */
  LATENT_ATLAS_HEADERS_TIMEOUT_S: z.coerce.number().min(1).max(600).default(10),
  /**
   * Seconds a client has to send a whole request, body included. Default 300: a 50 MiB upload
   * needs about 1.4 Mbit/s to fit; lower frees slow connections sooner, higher serves slower links.
   */
  LATENT_ATLAS_REQUEST_TIMEOUT_S: z.coerce.number().min(1).max(3600).default(300),
  /**
   * MiB of upload bodies the web server holds at once, across requests. Default 200 (four 50 MiB
   * files): more uploads wait their turn, then get 503 with Retry-After; higher admits more at
   * once at the cost of memory (a body costs about three times its size while it is decoded).
   */
  LATENT_ATLAS_UPLOAD_MEMORY_MB: z.coerce.number().int().min(1).max(65536).default(200),
  /** Seconds an upload waits for its turn before the 503. Default 30. */
  LATENT_ATLAS_UPLOAD_WAIT_S: z.coerce.number().min(0).max(600).default(30),
  /**
   * Child processes that decode files no decoder has seen yet (uploads, folder ingests, query
   * images, thumbnails): a decoder crash or runaway then costs one file, not the process (see
   * docs/robustness.md). Default 2. 0 decodes in the process itself: a little less CPU per image,
   * no isolation.
   */
  LATENT_ATLAS_DECODERS: z.coerce.number().int().min(0).max(16).default(2),
  /**
   * Memory limit of each decoder process, MiB. Default 2048: the largest image the pixel limit
   * admits decodes whole; a file that needs more is refused (422).
   */
  LATENT_ATLAS_DECODER_MEMORY_MB: z.coerce.number().int().min(128).max(65536).default(2048),
  /** Seconds an idle keep-alive connection stays open between requests. Default 5. */
  LATENT_ATLAS_KEEPALIVE_TIMEOUT_S: z.coerce.number().min(1).max(600).default(5),
  /**
   * Folders on this machine the web app may import from (server-side import), absolute, separated
   * by `:` (`;` on Windows). Default: none — server-side import is off.
   */
  LATENT_ATLAS_IMPORT_ROOTS: z
    .string()
    .default('')
    .transform((value) => value.split(delimiter).filter((root) => root.trim() !== ''))
    .refine((roots) => roots.every((root) => isAbsolute(root)), `must be absolute folder paths separated by '${delimiter}'`),
  /**
   * Redis for remote workers (redis://host:6379, rediss:// for TLS). Unset (the default), every job
   * runs on this machine's SQLite queue; set, ingest and re-embedding go out in batches through
   * BullMQ to `npm run worker -- --remote <app URL>` processes (docs/scaling.md). Needs LATENT_ATLAS_TOKEN.
   */
  LATENT_ATLAS_REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\/[^\s]+$/, 'must be a redis:// or rediss:// URL')
    .optional(),
});

/** Loopback addresses: the only ones served without an access token. */
export const LOOPBACK_HOSTS = Object.freeze(['127.0.0.1', '::1', 'localhost']);

export interface HttpTimeouts {
  /** Time to receive a request's headers. */
  headersMs: number;
  /** Time to receive a whole request. */
  requestMs: number;
  /** Idle time of a keep-alive connection between requests. */
  keepAliveMs: number;
}

export interface Config {
  backend: (typeof BACKEND_NAMES)[number] | undefined;
  dataDir: string;
  /** SQLite file: the source of truth. */
  dbPath: string;
  modelsDir: string;
  /** Originals by content hash (server-made names). */
  originalsDir: string;
  thumbnailsDir: string;
  /** HNSW index files (caches, rebuilt from SQLite). */
  indexDir: string;
  workers: number;
  host: string;
  port: number;
  /** Required (and checked on every request) when `host` is not loopback. */
  token: string | undefined;
  maxUploadBytes: number;
  /** Upload bodies held in memory at once (bytes), and how long one waits for room (ms). */
  uploadMemory: Readonly<{ bytes: number; waitMs: number }>;
  /** Decoder child processes (0: decode in this process) and each one's memory limit in MiB (lib/images/decoder-pool.ts). */
  decoders: Readonly<{ processes: number; memoryMb: number }>;
  /** Timeouts of the web server's connections (see lib/web-server.ts), in milliseconds. */
  http: Readonly<HttpTimeouts>;
  /** Redis of the remote job transport (BullMQ); undefined: everything runs on this machine. */
  redisUrl: string | undefined;
  /** The bundled sample set (flower photographs, labelled by folder), relative to the working directory. */
  samplesDir: string;
  /** Folders server-side import may read (resolved; symbolic links are checked when a folder is imported). Empty: import is off. */
  importRoots: readonly string[];
}

export function parseConfig(env: Readonly<Record<string, string | undefined>> = process.env): Readonly<Config> {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new AppError('invalid_input', `environment variable ${issue.path.join('.')}: ${issue.message}`);
  }
  const dataDir = resolve(parsed.data.LATENT_ATLAS_DATA_DIR);
  const host = parsed.data.LATENT_ATLAS_HOST;
  if (!LOOPBACK_HOSTS.includes(host) && !parsed.data.LATENT_ATLAS_TOKEN)
    throw new AppError(
      'invalid_input',
      `LATENT_ATLAS_HOST is ${host}, not loopback: set LATENT_ATLAS_TOKEN (≥ 16 characters) to protect the app`,
    );
  if (parsed.data.LATENT_ATLAS_REDIS_URL && !parsed.data.LATENT_ATLAS_TOKEN)
    throw new AppError(
      'invalid_input',
      'LATENT_ATLAS_REDIS_URL is set: set LATENT_ATLAS_TOKEN (≥ 16 characters) too — remote workers fetch originals and models from the app with it',
    );
  return Object.freeze({
    backend: parsed.data.LATENT_ATLAS_BACKEND,
    dataDir,
    dbPath: resolve(dataDir, 'atlas.db'),
    modelsDir: resolve(dataDir, 'models'),
    originalsDir: resolve(dataDir, 'originals'),
    thumbnailsDir: resolve(dataDir, 'thumbnails'),
    indexDir: resolve(dataDir, 'index'),
    workers: parsed.data.LATENT_ATLAS_WORKERS ?? availableParallelism(),
    host,
    port: parsed.data.LATENT_ATLAS_PORT,
    token: parsed.data.LATENT_ATLAS_TOKEN,
    maxUploadBytes: parsed.data.LATENT_ATLAS_MAX_UPLOAD_MB * 1024 * 1024,
    uploadMemory: Object.freeze({
      bytes: parsed.data.LATENT_ATLAS_UPLOAD_MEMORY_MB * 1024 * 1024,
      waitMs: parsed.data.LATENT_ATLAS_UPLOAD_WAIT_S * 1000,
    }),
    decoders: Object.freeze({ processes: parsed.data.LATENT_ATLAS_DECODERS, memoryMb: parsed.data.LATENT_ATLAS_DECODER_MEMORY_MB }),
    http: Object.freeze({
      headersMs: parsed.data.LATENT_ATLAS_HEADERS_TIMEOUT_S * 1000,
      requestMs: parsed.data.LATENT_ATLAS_REQUEST_TIMEOUT_S * 1000,
      keepAliveMs: parsed.data.LATENT_ATLAS_KEEPALIVE_TIMEOUT_S * 1000,
    }),
    redisUrl: parsed.data.LATENT_ATLAS_REDIS_URL,
    samplesDir: resolve('data', 'samples', 'flowers'),
    importRoots: Object.freeze(parsed.data.LATENT_ATLAS_IMPORT_ROOTS.map((root) => resolve(root))),
  });
}
