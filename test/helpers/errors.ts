import { expect } from 'vitest';
import { isAppError } from '../../lib/errors';

/** The message of the AppError('invalid_input') that `f` throws; fails the test if it throws none. */
export function invalidInputMessage(f: () => unknown): string {
  try {
    f();
  } catch (error) {
    expect(isAppError(error, 'invalid_input')).toBe(true);
    return (error as Error).message;
  }
  throw new Error('expected an error');
}

/** Checks that `f` throws an AppError with `code` and a message matching `message`. */
export async function expectAppError(f: () => unknown, code: string, message: RegExp): Promise<void> {
  try {
    await f();
  } catch (error) {
    expect(isAppError(error), String(error)).toBe(true);
    expect((error as { code: string }).code).toBe(code);
    expect((error as Error).message).toMatch(message);
    return;
  }
  throw new Error(`expected an AppError ${code}`);
}

/** The code of the error `f` throws synchronously ('not an AppError' for another kind), or undefined when it throws none. */
export function errorCode(f: () => unknown): string | undefined {
  try {
    f();
  } catch (error) {
    return isAppError(error) ? error.code : 'not an AppError';
  }
  return undefined;
}
