/**
 * The decoder pool with real child processes and real sharp: a child killed by a native-crash
 * signal while it decodes costs the file it had alone, never the files decoding beside it or this
 * process; a decode past the deadline and a decode past the memory limit are refused with
 * 'undecodable' (HTTP 422); after each, the pool is back to full strength and decodes again.
 */
import { readFileSync, rmSync } from 'node:fs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import sharp from 'sharp';
import { ERROR_STATUS } from '../../lib/errors';
import { DecoderPool } from '../../lib/images/decoder-pool';
import { prepareImage } from '../../lib/images/image-decoder';
import { decoderPool } from '../../lib/services/decoding';
import { ingestUploads } from '../../lib/services/ingest-service';
import { countImages } from '../../lib/store/images-repo';
import { photo, xray } from '../helpers/files';
import { tempLibrary } from '../helpers/library';

const TARGET = { target: { height: 32, width: 32, channels: 1 as const } };
/** An interlaced PNG of 6000×6000: 125 KB that libvips must decode whole (about 110 MB, most of a second). */
let slow: Uint8Array;
let pool: DecoderPool | null = null;

beforeAll(async () => {
  slow = new Uint8Array(
    await sharp({ create: { width: 6000, height: 6000, channels: 3, background: { r: 200, g: 30, b: 90 } } })
      .png({ compressionLevel: 9, progressive: true })
      .toBuffer(),
  );
});

afterEach(async () => {
  await pool?.close();
  pool = null;
});

/** Resolves once `condition` holds (polled every 10 ms, for up to a minute). */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('DecoderPool', () => {
  it('decodes exactly as prepareImage does in this process', async () => {
    pool = new DecoderPool({ processes: 1 });
    for (const bytes of [photo(), xray()]) {
      const options = { ...TARGET, thumbnailSize: 96 };
      const [inChild, here] = await Promise.all([pool.prepare(bytes, options), prepareImage(bytes, options)]);
      expect(Buffer.from(inChild.pixels).equals(Buffer.from(here.pixels))).toBe(true);
      expect(Buffer.isBuffer(inChild.thumbnail)).toBe(true);
      expect(inChild.thumbnail!.equals(here.thumbnail!)).toBe(true);
      expect([inChild.originalWidth, inChild.originalHeight, inChild.format]).toEqual([
        here.originalWidth,
        here.originalHeight,
        here.format,
      ]);
    }
    // The decoder's own refusals come back as the same typed errors.
    await expect(pool.prepare(new TextEncoder().encode('<svg></svg>'), TARGET)).rejects.toMatchObject({ code: 'unsupported' });
    await expect(pool.prepare(photo().subarray(0, 2000), TARGET)).rejects.toMatchObject({ code: 'invalid_input' });
  });

  it('a child that crashes while decoding a file alone costs that file; the files beside it decode; the pool recovers', async () => {
    pool = new DecoderPool({ processes: 2, perProcess: 1 });
    await pool.ready();
    const before = pool.pids();
    const doomed = pool.prepare(slow, TARGET);
    const [victim] = pool.busyPids(); // handed out at once: the first idle child has it, alone
    expect(victim).toBeDefined();
    const others = Array.from({ length: 6 }, (_, i) => pool!.prepare(i % 2 ? photo() : xray(), TARGET));
    let finished = 0;
    for (const other of others) void other.then(() => finished++);
    await until(() => finished >= 1, 'a file beside it to be decoded');
    process.kill(victim!, 'SIGSEGV'); // what a libvips crash does to its process
    const refused = await doomed.then(
      () => null,
      (error: unknown) => error,
    );
    expect(refused).toMatchObject({ code: 'undecodable' });
    expect((refused as Error).message).toMatch(/crashed \(SIGSEGV\) on this file/);
    expect(ERROR_STATUS.undecodable).toBe(422);
    for (const image of await Promise.all(others)) expect(image.pixels.length).toBe(32 * 32);
    await pool.ready();
    expect(pool.counts).toEqual({ started: 3, died: 1 });
    expect(pool.pids()).toHaveLength(2);
    expect(pool.pids()).not.toContain(victim);
    expect(pool.pids()).toContain(before.find((pid) => pid !== victim));
    // Recovered: the same slow file now decodes (nothing was wrong with it), and so does the rest.
    expect((await pool.prepare(slow, TARGET)).originalWidth).toBe(6000);
  });

  it('files in flight on a child that died are tried again alone; a file that kills a child alone is refused', async () => {
    pool = new DecoderPool({ processes: 1, perProcess: 2 });
    await pool.ready();
    const [first] = pool.pids();
    const slowOne = pool.prepare(slow, TARGET);
    const small = pool.prepare(photo(), TARGET);
    expect(pool.busyPids()).toEqual([first]); // both on the one child
    process.kill(first!, 'SIGSEGV');
    // Either could have been the culprit: each is tried again alone, and the small one decodes.
    expect((await small).pixels.length).toBe(32 * 32);
    await until(() => pool!.busyPids().length === 1 && pool!.busyPids()[0] !== first, 'the slow file to be tried again');
    process.kill(pool.busyPids()[0]!, 'SIGSEGV'); // it kills its child again, alone this time: blamed
    await expect(slowOne).rejects.toMatchObject({ code: 'undecodable' });
    expect(pool.counts.died).toBe(2);
    expect((await pool.prepare(xray(), TARGET)).pixels.length).toBe(32 * 32);
  });

  it('a decode past the deadline is killed with its child and refused; the pool decodes again', async () => {
    pool = new DecoderPool({ processes: 1, killAfterMs: 100 });
    await pool.ready();
    const [first] = pool.pids();
    await expect(pool.prepare(slow, TARGET)).rejects.toMatchObject({
      code: 'undecodable',
      message: expect.stringMatching(/took longer than 0\.1 s/),
    });
    await pool.ready();
    expect(pool.pids()).not.toContain(first);
    expect(pool.counts.died).toBe(1);
  });

  it.skipIf(!DecoderPool.kernelMemoryLimit)(
    'a decode that needs more memory than the limit is refused; the pool decodes again',
    async () => {
      // RLIMIT_DATA of 200 MiB: the child's own heap fits, the 6000×6000 image decoded whole (108 MB) beside it does not.
      pool = new DecoderPool({ processes: 1, memoryMb: 200 });
      const refused = await pool.prepare(slow, TARGET).then(
        () => null,
        (error: unknown) => error,
      );
      expect(refused).toMatchObject({ code: 'undecodable' });
      expect((refused as Error).message).toMatch(/more memory|crashed|exited/);
      expect((await pool.prepare(photo(), TARGET)).pixels.length).toBe(32 * 32);
    },
  );
});

/** Resident memory of process `pid` in MiB (0 once it is gone). */
function residentMb(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

describe('uploads', () => {
  it('an upload whose decoder crashes is refused (422) with nothing stored; the uploads beside it and after it are added', async () => {
    const { library, dataDir } = await tempLibrary();
    try {
      const shared = decoderPool(library.config)!; // the process's pool, as the web server uses it
      await shared.ready();
      const doomed = ingestUploads(library, [{ name: 'slow.png', bytes: slow }]);
      const beside = [photo(), xray(), photo('coco_000000359219.jpg')].map((bytes, i) =>
        ingestUploads(library, [{ name: `${i}.img`, bytes }]),
      );
      let settled = false;
      void doomed.finally(() => (settled = true));
      // Whichever child holds the slow file (it alone needs 100+ MB above the 90 MB a child starts with) gets a native-crash signal, until the
      // upload is answered: a file beside it on the same child is tried again alone and added.
      while (!settled) {
        const victim = shared.busyPids().find((pid) => residentMb(pid) > 150);
        if (victim) process.kill(victim, 'SIGSEGV');
        await new Promise((r) => setTimeout(r, 10));
      }
      const [verdict] = await doomed;
      expect(verdict).toMatchObject({ name: 'slow.png', status: 'refused', code: 'undecodable' });
      expect(verdict!.status === 'refused' && verdict!.reason).toMatch(/crashed \(SIGSEGV\)/);
      for (const [result] of await Promise.all(beside)) expect(result!.status).toBe('added');
      expect(countImages(library.db)).toBe(3);
      expect(shared.counts.died).toBeGreaterThanOrEqual(1);
      const [after] = await ingestUploads(library, [{ name: 'after.jpg', bytes: photo('coco_000000555705.jpg') }]);
      expect(after!.status).toBe('added');
    } finally {
      library.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
