/**
 * The one-slot cache behind a remote worker's models and index snapshots: one load per key, the
 * previous value released when another key is asked for, a failed load forgotten.
 */
import { describe, expect, it } from 'vitest';
import { CurrentEntry } from '../../../lib/jobs/remote/current-entry';

describe('CurrentEntry (a remote worker keeps one model / snapshot at a time)', () => {
  it('loads a key once, however many batches ask for it while it loads', async () => {
    let loads = 0;
    const entry = new CurrentEntry<string>();
    const load = async () => `model ${++loads}`;
    const [a, b] = await Promise.all([entry.get('m1', load), entry.get('m1', load)]);
    expect([a, b, await entry.get('m1', load)]).toEqual(['model 1', 'model 1', 'model 1']);
    expect(loads).toBe(1);
  });

  it('another key loads anew and releases the previous value once', async () => {
    const released: string[] = [];
    const entry = new CurrentEntry<string>((value) => released.push(value));
    await entry.get('m1', async () => 'one');
    expect(await entry.get('m2', async () => 'two')).toBe('two');
    await Promise.resolve();
    expect(released).toEqual(['one']);
    // Back to the first key: it is loaded again (only one is kept), and 'two' is let go.
    expect(await entry.get('m1', async () => 'one again')).toBe('one again');
    await Promise.resolve();
    expect(released).toEqual(['one', 'two']);
  });

  it('forgets a load that failed, so the next ask tries again', async () => {
    const entry = new CurrentEntry<string>();
    await expect(entry.get('m1', () => Promise.reject(new Error('download refused')))).rejects.toThrow('download refused');
    expect(await entry.get('m1', async () => 'second try')).toBe('second try');
  });
});
