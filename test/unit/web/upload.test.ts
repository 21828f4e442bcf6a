import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { readUploads, safeName } from '../../../app/_server/upload';

const LIMITS = { maxFileBytes: 1024 * 1024, maxFiles: 5, maxTotalBytes: 4 * 1024 * 1024 };
const DAISY = 'data/samples/flowers/daisy/10993818044_4c19b86c82.jpg';

/** A multipart request whose body arrives as many small Uint8Array chunks, as from a real socket. */
async function multipart(parts: { name: string; bytes: Uint8Array }[], fields: Record<string, string> = {}): Promise<Request> {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  for (const p of parts) form.append('file', new Blob([p.bytes as Uint8Array<ArrayBuffer>]), p.name);
  const encoded = new Request('http://localhost/', { method: 'POST', body: form });
  const bytes = new Uint8Array(await encoded.arrayBuffer());
  let offset = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(offset, offset + 1500));
      offset += 1500;
    },
  });
  return new Request('http://localhost/api/images', {
    method: 'POST',
    body,
    headers: { 'Content-Type': encoded.headers.get('content-type')! },
    duplex: 'half',
  } as RequestInit);
}

describe('readUploads', () => {
  it('returns every file whole, in order, with the form fields', async () => {
    const daisy = new Uint8Array(await readFile(DAISY));
    const small = new Uint8Array([1, 2, 3]);
    const { files, fields } = await readUploads(
      await multipart(
        [
          { name: 'a.jpg', bytes: daisy },
          { name: 'b.bin', bytes: small },
        ],
        { modality: 'xray' },
      ),
      LIMITS,
    );
    expect(files.map((f) => f.name)).toEqual(['a.jpg', 'b.bin']);
    expect(Buffer.from(files[0]!.bytes).equals(Buffer.from(daisy))).toBe(true);
    expect([...files[1]!.bytes]).toEqual([1, 2, 3]);
    expect(fields).toEqual({ modality: 'xray' });
  });

  it('refuses a file over the per-file limit with too_large, never truncating it', async () => {
    const big = new Uint8Array(LIMITS.maxFileBytes + 1);
    await expect(readUploads(await multipart([{ name: 'big.jpg', bytes: big }]), LIMITS)).rejects.toMatchObject({ code: 'too_large' });
  });

  it('refuses too many files and a body over the total limit', async () => {
    const parts = Array.from({ length: 6 }, (_, i) => ({ name: `${i}.jpg`, bytes: new Uint8Array(10) }));
    await expect(readUploads(await multipart(parts), LIMITS)).rejects.toMatchObject({ code: 'too_large' });
    const heavy = Array.from({ length: 5 }, (_, i) => ({ name: `${i}.jpg`, bytes: new Uint8Array(1000 * 1000) }));
    await expect(readUploads(await multipart(heavy), LIMITS)).rejects.toMatchObject({ code: 'too_large' });
  });

  it('refuses a body that is not multipart, and malformed multipart', async () => {
    const plain = new Request('http://localhost/', { method: 'POST', body: 'hi', headers: { 'Content-Type': 'text/plain' } });
    await expect(readUploads(plain, LIMITS)).rejects.toMatchObject({ code: 'invalid_input' });
    const broken = new Request('http://localhost/', {
      method: 'POST',
      body: 'garbage',
      headers: { 'Content-Type': 'multipart/form-data' },
    });
    await expect(readUploads(broken, LIMITS)).rejects.toMatchObject({ code: 'invalid_input' });
  });

  it('keeps file names as printable metadata', () => {
    expect(safeName('a\u0000b\r\n../c.jpg')).toBe('ab../c.jpg');
    expect(safeName('')).toBe('unnamed');
    expect(safeName('x'.repeat(400))).toHaveLength(255);
  });
});
