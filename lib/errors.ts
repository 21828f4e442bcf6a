/**
 * The one error type of Latent Atlas. Every failure a user can cause or see carries a stable
 * `code`, the HTTP status a web door should answer with, and a public message that never leaks
 * paths or internals; the original error rides along as `cause` for logs.
 */
export const ERROR_STATUS = Object.freeze({
  invalid_input: 400,
  unauthorized: 401,
  /** Allowed to ask, not for this: a server-side import outside the roots the operator allows. */
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  too_large: 413,
  unsupported: 415,
  /**
   * The decoder gave up on this one file: it crashed on it, or ran past its memory or time limit
   * (the decoder runs in a child process, so only this file is lost). Nothing stored.
   */
  undecodable: 422,
  cancelled: 499,
  backend_unavailable: 503,
  /** Too much at once (upload memory, decoding): refused before any work, with Retry-After; nothing stored. */
  busy: 503,
  /** The disk (or the folder's quota) is full: nothing was stored; the same action works once space is freed. */
  storage_full: 507,
  /** A file of the library (the SQLite database) is damaged: left as it is, to be restored from a backup. */
  damaged: 500,
  internal: 500,
} as const);

export type ErrorCode = keyof typeof ERROR_STATUS;

/**
 * Marks an AppError whichever copy of this module made it. The web server runs several: the one its
 * own script loads and the ones Next.js bundles per router, and errors pass between them through
 * objects they share on globalThis (the open index, the decoder pool). `instanceof AppError` goes by this mark, so such an error keeps its code and status.
 */
const BRAND = Symbol.for('latent-atlas.AppError');

export class AppError extends Error {
  readonly [BRAND] = true;
  readonly code: ErrorCode;
  readonly status: number;
  /** When to ask again, for a web door's Retry-After (errors that pass: 'busy'). */
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; retryAfterSeconds?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }

  /** An AppError of any copy of this module (see BRAND). */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && (value as { [BRAND]?: unknown })[BRAND] === true;
  }
}

/** True when `error` is an AppError with `code` (or any AppError when no code is given). */
export function isAppError(error: unknown, code?: ErrorCode): error is AppError {
  return error instanceof AppError && (code === undefined || (error as AppError).code === code);
}
