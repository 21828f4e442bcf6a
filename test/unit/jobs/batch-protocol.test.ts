/**
 * What crosses Redis between the library and remote workers: vectors and neighbour lists come back bit for bit, a
 * result that does not fit the protocol is refused before anything is stored, batch ids follow
 * content, and the settings that turn the transport on are checked where they are parsed.
 */
import { describe, expect, it } from 'vitest';
import { allowed, workerAllowed } from '../../../app/_server/access';
import { parseConfig } from '../../../lib/config';
import {
  batchDataSchema,
  checkInputVersion,
  batchJobId,
  decodeNeighbors,
  decodeResult,
  encodeNeighbors,
  encodeResult,
  toBase64,
} from '../../../lib/jobs/remote/batch-protocol';
import { describeRedisUrl } from '../../../lib/jobs/remote/redis';
import { MODEL_INPUT_VERSION } from '../../../lib/images/image-decoder';
import { modelFingerprint } from '../../../lib/models/model-io';

const HASH_A = 'a'.repeat(64);
const HASH_B = 'b'.repeat(64);
const TOKEN = 'a-token-of-enough-length';

describe('batch results', () => {
  it('carry vectors exactly (float32 bits) and refusals with their codes', () => {
    const vector = new Float32Array([0.1, -2.5e-8, 3.4028234e38, Math.PI, -0]);
    const outcome = {
      embedded: [{ hash: HASH_A, format: 'jpeg', width: 640, height: 480, byteSize: 12345, metadata: { depth: 'uchar' }, vector }],
      refused: [{ hash: HASH_B, code: 'invalid_input' as const, reason: 'cannot decode this jpeg file: it is corrupt or truncated' }],
    };
    const back = decodeResult(JSON.parse(JSON.stringify(encodeResult(outcome, '12@host'))));
    expect(back.worker).toBe('12@host');
    expect(new Uint32Array(back.embedded[0]!.vector.buffer)).toEqual(new Uint32Array(vector.buffer));
    expect(back.refused).toEqual(outcome.refused);
  });

  it('refuse a result that does not fit: a bad hash, an unknown field, an unknown error code', () => {
    const good = encodeResult({ embedded: [], refused: [] }, 'w');
    const cases: [unknown, RegExp][] = [
      [{ ...good, refused: [{ hash: '../etc/passwd', code: 'invalid_input', reason: 'x' }] }, /refused\.0\.hash/],
      [{ ...good, extra: 1 }, /unrecognized key/i],
      [{ ...good, refused: [{ hash: HASH_A, code: 'teapot', reason: 'x' }] }, /refused\.0\.code/],
      [null, /invalid batch result/],
    ];
    for (const [value, message] of cases)
      expect(() => decodeResult(value)).toThrow(
        expect.objectContaining({ code: 'invalid_input', message: expect.stringMatching(message) }),
      );
  });
});

describe('neighbour lists of a near-duplicate block', () => {
  const lists = {
    neighbors: 2,
    ids: Int32Array.of(7, -1, 3, 9),
    distances: Float32Array.of(0.25, Infinity, 1e-7, 2),
  };

  it('come back exactly, padding included', () => {
    const back = decodeNeighbors(JSON.parse(JSON.stringify(encodeNeighbors(lists, '9@host'))), 2, 2);
    expect(back).toEqual({ worker: '9@host', ...lists });
  });

  it('are refused when they hold another number of rows than the block sent', () => {
    const value = encodeNeighbors(lists, 'w');
    expect(() => decodeNeighbors(value, 3, 2)).toThrow(expect.objectContaining({ code: 'invalid_input' }));
    expect(() => decodeNeighbors({ ...value, ids: 'not base64!' }, 2, 2)).toThrow(/neighbour lists/);
  });

  it('name snapshot files plainly: a path in a file name is refused', () => {
    const block = {
      run: 'duplicates-4',
      mode: 'neighbors',
      snapshot: { generation: 3, dim: 2, space: 'l2', files: [{ name: 'index.json', sha256: HASH_A }] },
      neighbors: 2,
      ids: toBase64(Int32Array.of(1)),
      vectors: toBase64(Float32Array.of(0.5, 1)),
    };
    expect(batchDataSchema.safeParse(block).success).toBe(true);
    const bad = { ...block, snapshot: { ...block.snapshot, files: [{ name: '../../atlas.db', sha256: HASH_A }] } };
    expect(batchDataSchema.safeParse(bad).success).toBe(false);
  });
});

describe('batches', () => {
  it('are named by their run and content: the same batch twice is one job', () => {
    const a = batchJobId('ingest-3', [HASH_A, HASH_B]);
    expect(a).toBe(batchJobId('ingest-3', [HASH_A, HASH_B]));
    expect(a).not.toBe(batchJobId('ingest-3', [HASH_B, HASH_A]));
    expect(a).not.toBe(batchJobId('ingest-4', [HASH_A, HASH_B]));
    expect(a).toMatch(/^ingest-3\.[0-9a-f]{24}$/); // BullMQ refuses ':' in ids
  });

  it('are checked by the worker: an empty batch or a model without fingerprint is refused', () => {
    const batch = {
      run: 'embed-1',
      mode: 'embed',
      model: { id: 2, fingerprint: '0123456789abcdef' },
      inputVersion: MODEL_INPUT_VERSION,
      includePatient: false,
      images: [{ hash: HASH_A, name: 'a.jpg' }],
    };
    expect(batchDataSchema.safeParse(batch).success).toBe(true);
    expect(batchDataSchema.safeParse({ ...batch, images: [] }).success).toBe(false);
    expect(batchDataSchema.safeParse({ ...batch, model: { id: 2 } }).success).toBe(false);
    const { inputVersion: _, ...fromAnOlderLibrary } = batch;
    expect(batchDataSchema.safeParse(fromAnOlderLibrary).success).toBe(false);
  });

  it('are refused by a worker that prepares model inputs another way than the library', () => {
    expect(() => checkInputVersion({ inputVersion: MODEL_INPUT_VERSION }, 'w@h')).not.toThrow();
    expect(() => checkInputVersion({ inputVersion: MODEL_INPUT_VERSION - 1 }, 'w@h')).toThrow(
      expect.objectContaining({ code: 'conflict', message: expect.stringMatching(/same release of Latent Atlas/) }),
    );
  });

  it('name models by content: other weights, another fingerprint', () => {
    const json = new TextEncoder().encode('{"format":"latent-atlas-model"}');
    const a = modelFingerprint({ 'model.json': json, 'weights.bin': new Uint8Array([1, 2, 3, 4]) });
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(modelFingerprint({ 'model.json': json, 'weights.bin': new Uint8Array([1, 2, 3, 5]) })).not.toBe(a);
  });
});

describe('configuration and access', () => {
  it('turns the transport on only with a redis:// or rediss:// URL and a token', () => {
    expect(parseConfig({}).redisUrl).toBeUndefined();
    expect(parseConfig({ LATENT_ATLAS_REDIS_URL: 'rediss://:pw@h:6380', LATENT_ATLAS_TOKEN: TOKEN }).redisUrl).toBe('rediss://:pw@h:6380');
    expect(() => parseConfig({ LATENT_ATLAS_REDIS_URL: 'redis://h:6379' })).toThrow(/set LATENT_ATLAS_TOKEN/);
    expect(() => parseConfig({ LATENT_ATLAS_REDIS_URL: 'http://h:6379', LATENT_ATLAS_TOKEN: TOKEN })).toThrow(
      /LATENT_ATLAS_REDIS_URL: must be a redis:\/\/ or rediss:\/\/ URL/,
    );
  });

  it('never shows the Redis password', () => {
    expect(describeRedisUrl('rediss://user:secret@h:6380/2')).toBe('rediss://user:***@h:6380/2');
  });

  it('asks remote workers for the token on loopback too, where pages need none', () => {
    const config = parseConfig({ LATENT_ATLAS_TOKEN: TOKEN });
    expect(allowed(config, null, undefined)).toBe(true);
    expect(workerAllowed(config, null)).toBe(false);
    expect(workerAllowed(config, `Bearer ${TOKEN}x`)).toBe(false);
    expect(workerAllowed(config, `Bearer ${TOKEN}`)).toBe(true);
    expect(workerAllowed(parseConfig({}), 'Bearer anything')).toBe(false);
  });
});
