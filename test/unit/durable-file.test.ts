/**
 * The durable-write helper: a write replaces the file whole, leaves no temp file behind, creates
 * the folder, and a write that fails midway keeps the old content and removes its temp file.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { syncDirectory, tempPathFor, writeFileDurable, writeFileDurableSync, writeSyncedFile } from '../../lib/durable-file';

const root = mkdtempSync(join(tmpdir(), 'latent-atlas-durable-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('writeFileDurable', () => {
  it('creates the folder, writes the bytes and leaves only the target', async () => {
    const path = join(root, 'a', 'b', 'file.bin');
    await writeFileDurable(path, new Uint8Array([1, 2, 3]));
    expect([...readFileSync(path)]).toEqual([1, 2, 3]);
    expect(readdirSync(join(root, 'a', 'b'))).toEqual(['file.bin']);
  });

  it('replaces an existing file whole, durable or not', async () => {
    const path = join(root, 'replace.json');
    await writeFileDurable(path, '{"v":1}');
    await writeFileDurable(path, '{"v":2}', { durable: false });
    expect(readFileSync(path, 'utf8')).toBe('{"v":2}');
  });

  it('keeps the old content and removes its temp file when the rename fails', async () => {
    const dir = join(root, 'is-a-folder');
    await writeFileDurable(join(dir, 'inside'), 'x'); // `dir` is a non-empty folder: renaming a file over it fails
    await expect(writeFileDurable(dir, 'new')).rejects.toMatchObject({ code: expect.stringMatching(/EISDIR|ENOTEMPTY|EEXIST/) });
    expect(readdirSync(root).filter((n) => n.includes('.tmp-'))).toEqual([]);
    expect(readFileSync(join(dir, 'inside'), 'utf8')).toBe('x');
  });
});

describe('writeFileDurableSync', () => {
  it('renames what the writer put in the temp file into place', () => {
    const path = join(root, 'sync', 'index.hnsw');
    let seen = '';
    writeFileDurableSync(path, (tmp) => {
      seen = tmp;
      writeFileSync(tmp, 'index');
    });
    expect(seen).toMatch(new RegExp(`/\\.index\\.hnsw\\.tmp-${process.pid}-[0-9a-z]+$`));
    expect(readFileSync(path, 'utf8')).toBe('index');
    expect(readdirSync(join(root, 'sync'))).toEqual(['index.hnsw']);
  });

  it('keeps the old file and removes the temp file when the writer throws', () => {
    const path = join(root, 'sync', 'index.hnsw');
    expect(() =>
      writeFileDurableSync(path, (tmp) => {
        writeFileSync(tmp, 'half');
        throw new Error('disk full');
      }),
    ).toThrow('disk full');
    expect(readFileSync(path, 'utf8')).toBe('index');
    expect(readdirSync(join(root, 'sync'))).toEqual(['index.hnsw']);
  });
});

describe('pieces', () => {
  it('names temp files hidden, beside the target, with this process id (what orphan cleanup matches)', () => {
    const tmp = tempPathFor(join(root, 'x', 'name.webp'));
    expect(tmp.startsWith(join(root, 'x', '.name.webp.tmp-'))).toBe(true);
    expect(/\.tmp-(\d+)/.exec(tmp)?.[1]).toBe(String(process.pid));
    expect(tempPathFor('/a/b')).not.toBe(tempPathFor('/a/b'));
  });

  it('writes a synced file in place and fsyncs a folder; a missing folder is an error', async () => {
    await writeSyncedFile(join(root, 'plain.txt'), 'plain');
    expect(readFileSync(join(root, 'plain.txt'), 'utf8')).toBe('plain');
    await expect(syncDirectory(root)).resolves.toBeUndefined();
    await expect(syncDirectory(join(root, 'missing'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
