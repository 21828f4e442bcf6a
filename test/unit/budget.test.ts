/**
 * The shared budget (lib/budget.ts) behind upload memory: requests that fit run at once, the rest
 * wait in order and run as room is given back, a request larger than everything runs alone, and a
 * wait that runs out is AppError('busy') with a Retry-After — at the web door a 503.
 */
import { describe, expect, it } from 'vitest';
import { errorResponse } from '../../app/_server/respond';
import { withUploadMemory } from '../../app/_server/upload';
import { Budget } from '../../lib/budget';
import { parseConfig } from '../../lib/config';
import { isAppError } from '../../lib/errors';

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('Budget', () => {
  it('admits what fits, queues the rest in order, and grants as room is given back', async () => {
    const budget = new Budget(100, 'test memory');
    const order: string[] = [];
    const a = await budget.take(60, 1000);
    const b = budget.take(60, 1000).then((release) => (order.push('b'), release));
    const c = budget.take(30, 1000).then((release) => (order.push('c'), release)); // fits, but waits behind b: first come, first served
    await tick();
    expect(order).toEqual([]);
    expect(budget.inUse).toBe(60);
    expect(budget.waiting).toBe(2);
    a();
    a(); // a second release gives nothing back twice
    const [releaseB, releaseC] = await Promise.all([b, c]);
    expect(order).toEqual(['b', 'c']);
    expect(budget.inUse).toBe(90);
    releaseB();
    releaseC();
    expect(budget.inUse).toBe(0);
  });

  it('admits a request larger than the capacity alone', async () => {
    const budget = new Budget(100, 'test memory');
    const big = await budget.take(500, 1000);
    expect(budget.inUse).toBe(100);
    const small = budget.take(1, 1000);
    await tick();
    expect(budget.waiting).toBe(1);
    big();
    (await small)();
    expect(budget.inUse).toBe(0);
  });

  it('gives up after the wait with busy and a Retry-After, and lets the queue behind it move', async () => {
    const budget = new Budget(100, 'test memory');
    const held = await budget.take(90, 1000);
    const refused = budget.take(50, 20).catch((error: unknown) => error);
    const small = budget.take(10, 1000);
    const error = await refused;
    expect(isAppError(error, 'busy')).toBe(true);
    const response = errorResponse(error);
    expect(response.status).toBe(503);
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    (await small)();
    held();
    expect(budget.inUse).toBe(0);
  });
});

it('uploads beyond the upload memory wait their turn, and get 503 when the wait runs out', async () => {
  const config = parseConfig({
    LATENT_ATLAS_UPLOAD_MEMORY_MB: '1',
    LATENT_ATLAS_UPLOAD_WAIT_S: '0.05',
    LATENT_ATLAS_DATA_DIR: '/nonexistent',
  });
  const upload = (bytes: number) =>
    new Request('http://localhost/api/images', { method: 'POST', headers: { 'Content-Length': String(bytes) } });
  let finish = () => {};
  const first = withUploadMemory(upload(800_000), config, () => new Promise<string>((resolve) => (finish = () => resolve('first'))));
  await tick();
  const second = await withUploadMemory(upload(800_000), config, async () => 'second').catch((error: unknown) => error);
  expect(isAppError(second, 'busy')).toBe(true);
  finish();
  expect(await first).toBe('first');
  expect(await withUploadMemory(upload(800_000), config, async () => 'third')).toBe('third');
});
