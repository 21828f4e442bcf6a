/**
 * AppError across copies of lib/errors.ts: the web server loads the module once for its own script
 * and once more inside Next's bundles, and errors made by one copy (the decoder pool's) reach code
 * of the other; they must keep their code (a 415 must not turn into a generic 400).
 */
import { describe, expect, it } from 'vitest';
import { AppError, isAppError } from '../../lib/errors';

describe('AppError', () => {
  it('is recognised whichever copy of the module made it, and nothing else is', async () => {
    const secondCopy = '../../lib/errors.ts?second-copy'; // a query makes Vite load the file again as another module
    const copy = (await import(/* @vite-ignore */ secondCopy)) as typeof import('../../lib/errors');
    expect(copy.AppError).not.toBe(AppError); // really another copy of the class
    const foreign = new copy.AppError('unsupported', 'this file is SVG');
    expect(foreign instanceof AppError).toBe(true);
    expect(isAppError(foreign, 'unsupported')).toBe(true);
    expect(new AppError('undecodable', 'x') instanceof copy.AppError).toBe(true);
    expect(new AppError('undecodable', 'x').status).toBe(422);
    for (const other of [new Error('plain'), { code: 'unsupported' }, null, 'AppError'])
      expect(other instanceof AppError, String(other)).toBe(false);
  });
});
