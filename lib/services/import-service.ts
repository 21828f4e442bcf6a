/**
 * Server-side import: which folders on this machine the web app may read. Only folders under the
 * roots the operator allows (LATENT_ATLAS_IMPORT_ROOTS; none by default) — checked twice, once on
 * the path as written (`..` resolved) and once on the real path (symbolic links followed), so
 * neither a `..` nor a link inside a root leads out of it. The import itself is the ordinary
 * folder ingest, run as a job (lib/jobs `queueImport`).
 */
import { realpath, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import type { Config } from '../config';
import { AppError } from '../errors';

export interface ImportSettings {
  /** False when LATENT_ATLAS_IMPORT_ROOTS is empty: server-side import is off. */
  enabled: boolean;
  /** The folders imports may come from (as the operator configured them). */
  roots: readonly string[];
}

/** How to turn server-side import on, for pages and errors. */
export const IMPORT_HOW_TO =
  'set LATENT_ATLAS_IMPORT_ROOTS to the folders this server may import from (absolute paths separated by ":") and restart';

export function importSettings(config: Readonly<Config>): ImportSettings {
  return { enabled: config.importRoots.length > 0, roots: config.importRoots };
}

/** True when `path` is `root` or lies under it (both absolute, already resolved). */
export function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/**
 * The real path of `folder` (relative paths are taken from the server's working directory) when
 * it is a folder under an import root: AppError('forbidden') when import is off or the folder lies
 * outside every root — by `..` or through a symbolic link — and AppError('not_found') when there
 * is no such folder. The message repeats the path as given, never where a link leads.
 */
export async function resolveImportFolder(config: Readonly<Config>, folder: string): Promise<string> {
  if (config.importRoots.length === 0) throw new AppError('forbidden', `server-side import is off: ${IMPORT_HOW_TO}`);
  const shown = folder.slice(0, 300);
  const written = resolve(folder);
  if (!config.importRoots.some((root) => isInside(root, written)))
    throw new AppError('forbidden', `${shown} is outside the folders this server may import from (LATENT_ATLAS_IMPORT_ROOTS)`);
  const real = await realpath(written).catch((error: unknown) => {
    throw new AppError('not_found', `folder not found: ${shown}`, { cause: error });
  });
  const realRoots = await Promise.all(config.importRoots.map((root) => realpath(root).catch(() => null)));
  if (!realRoots.some((root) => root !== null && isInside(root, real)))
    throw new AppError('forbidden', `${shown} leads outside the folders this server may import from, through a symbolic link`);
  if (!(await stat(real)).isDirectory()) throw new AppError('invalid_input', `${shown} is not a folder`);
  return real;
}
