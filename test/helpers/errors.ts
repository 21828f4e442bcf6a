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
