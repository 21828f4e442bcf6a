/**
 * Validation at the edge, one way: `parseOrThrow` checks input against a zod schema and, when it
 * does not fit, throws AppError('invalid_input') naming every problem — where (the field's path)
 * and what was expected — so request bodies, query strings, form fields, CLI flags, job
 * parameters and model specs all fail with the same kind of message.
 */
import type { z } from 'zod';
import { AppError } from './errors';

export interface ParseOptions {
  /** Where an issue without a path is said to be. Default: `what`. */
  root?: string;
  /**
   * Describes one issue; `where` is its dotted path (or `root`). Return undefined for the default
   * `<where>: <message>`. For messages that need more than zod knows (the valid option names).
   */
  describe?: (issue: z.core.$ZodIssue, where: string) => string | undefined;
}

/** Every issue of `error`, joined: `a.b: expected number, received string; c: …`. */
export function describeIssues(error: z.ZodError, root: string, describe?: ParseOptions['describe']): string {
  return error.issues
    .map((issue) => {
      const where = issue.path.length ? issue.path.map(String).join('.') : root;
      return describe?.(issue, where) ?? `${where}: ${issue.message}`;
    })
    .join('; ');
}

/**
 * `input` checked against `schema`; AppError('invalid_input') `invalid <what>: <every issue>` when
 * it does not fit.
 *
 * @example const { k } = parseOrThrow(z.object({ k: z.number() }), body, 'body');
 */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, what: string, options: ParseOptions = {}): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw new AppError('invalid_input', `invalid ${what}: ${describeIssues(parsed.error, options.root ?? what, options.describe)}`);
}
