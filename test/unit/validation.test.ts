/**
 * parseOrThrow: the value when it fits; otherwise one AppError('invalid_input') naming every
 * issue by path (or the root name), with a per-issue description where the caller knows more.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseOrThrow } from '../../lib/validation';

const schema = z.strictObject({ k: z.number().int().min(1), inner: z.object({ name: z.string() }).optional() });

describe('parseOrThrow', () => {
  it('returns the parsed value, defaults filled in', () => {
    expect(parseOrThrow(schema.extend({ seed: z.number().default(7) }), { k: 3 }, 'body')).toEqual({ k: 3, seed: 7 });
  });

  it('names every issue by its dotted path', () => {
    expect(() => parseOrThrow(schema, { k: 0, inner: { name: 5 } }, 'body')).toThrow(
      expect.objectContaining({
        code: 'invalid_input',
        message: expect.stringMatching(
          /^invalid body: k: Too small: expected number to be >=1; inner\.name: Invalid input: expected string, received number$/,
        ),
      }),
    );
  });

  it('says where a pathless issue is (`root`, default `what`) and lets the caller describe an issue', () => {
    expect(() => parseOrThrow(schema, 'text', 'query')).toThrow(/^invalid query: query: Invalid input: expected object/);
    expect(() => parseOrThrow(schema, { k: 1, extra: 1 }, 'conv model spec', { root: 'spec' })).toThrow(
      /^invalid conv model spec: spec: Unrecognized key: "extra"$/,
    );
    expect(() => parseOrThrow(schema, { k: 'x' }, 'option', { describe: (issue, where) => `--${where} ${issue.message}` })).toThrow(
      /^invalid option: --k Invalid input: expected number, received string$/,
    );
  });
});
