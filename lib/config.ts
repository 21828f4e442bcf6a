/**
 * Configuration from the environment, parsed once (zod) into a frozen object. Adapters take
 * option objects; nothing else reads process.env.
 */
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
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
});

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
}

export function parseConfig(env: NodeJS.ProcessEnv = process.env): Readonly<Config> {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new AppError('invalid_input', `environment variable ${issue.path.join('.')}: ${issue.message}`);
  }
  const dataDir = resolve(parsed.data.LATENT_ATLAS_DATA_DIR);
  return Object.freeze({
    backend: parsed.data.LATENT_ATLAS_BACKEND,
    dataDir,
    dbPath: resolve(dataDir, 'atlas.db'),
    modelsDir: resolve(dataDir, 'models'),
    originalsDir: resolve(dataDir, 'originals'),
    thumbnailsDir: resolve(dataDir, 'thumbnails'),
    indexDir: resolve(dataDir, 'index'),
    workers: parsed.data.LATENT_ATLAS_WORKERS ?? availableParallelism(),
  });
}
