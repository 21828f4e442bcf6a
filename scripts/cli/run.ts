/**
 * Shared plumbing of the command-line doors: turns errors into a message and an exit code, and
 * Ctrl-C into an AbortSignal so long work stops cleanly.
 */
import { InvalidArgumentError } from 'commander';
import { z } from 'zod';
import { isAppError } from '../../lib/errors';

export function abortOnSigint(what: string): AbortController {
  const controller = new AbortController();
  process.once('SIGINT', () => {
    process.stderr.write(`\nCancelling ${what}… (press Ctrl-C again to force)\n`);
    controller.abort();
    process.once('SIGINT', () => process.exit(130));
  });
  return controller;
}

export async function runCli(main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (error) {
    if (isAppError(error, 'cancelled')) {
      process.stderr.write(`${error.message}\n`);
      process.exit(130);
    }
    process.stderr.write(`error: ${isAppError(error) ? error.message : ((error as Error).stack ?? String(error))}\n`);
    process.exit(1);
  }
}

/** A commander parser for a whole-number flag of at least `min`, with a message naming the flag. */
export const wholeFlag =
  (name: string, min = 1) =>
  (value: string): number => {
    const parsed = z.coerce.number().int().min(min).safeParse(value);
    if (!parsed.success) throw new InvalidArgumentError(`${name} must be a whole number ≥ ${min}.`);
    return parsed.data;
  };
