import { mkdtemp, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isCreditFile } from '../../../lib/credit-files';
import { parseCredits, readCredits } from '../../../lib/services/credits';
import { listImageFiles } from '../../../lib/services/ingest-service';

const SAMPLES = 'data/samples/flowers';

describe('isCreditFile', () => {
  it('knows credits files by name, in any case, and nothing else', () => {
    for (const name of [
      'ATTRIBUTION.md',
      'LICENSE',
      'license.txt',
      'Licence.md',
      'README.md',
      'NOTICE',
      'credits.txt',
      'sub/ATTRIBUTION.md',
    ])
      expect(isCreditFile(name), name).toBe(true);
    for (const name of ['attribution.jpg', 'license.png', 'readme-cat.jpg', 'labels.csv', 'photo.md5', 'LICENSE.dcm'])
      expect(isCreditFile(name), name).toBe(false);
  });
});

describe('parseCredits', () => {
  it('reads headings, paragraphs, lists and tables', () => {
    const blocks = parseCredits(
      [
        '# Sample set',
        '',
        'Real photos,',
        'unmodified.',
        '',
        '* one `item`',
        '* two',
        '',
        '| file | by |',
        '|---|---|',
        '| a.jpg | **Ann** |',
        '| b.jpg | Bo |',
      ].join('\n'),
    );
    expect(blocks).toEqual([
      { kind: 'heading', text: 'Sample set' },
      { kind: 'paragraph', text: 'Real photos, unmodified.' },
      { kind: 'list', items: ['one item', 'two'] },
      {
        kind: 'table',
        header: ['file', 'by'],
        rows: [
          ['a.jpg', 'Ann'],
          ['b.jpg', 'Bo'],
        ],
      },
    ]);
  });

  it('reads the sample set credits: one row per photograph, each with its photographer', async () => {
    const [credits] = await readCredits(SAMPLES);
    expect(credits?.name).toBe('ATTRIBUTION.md');
    const table = credits?.blocks.find((b) => b.kind === 'table');
    expect(table?.kind === 'table' && table.header).toEqual(['file', 'label', 'photographer', 'Flickr page']);
    expect(table?.kind === 'table' && table.rows).toHaveLength(100);
  });
});

describe('listImageFiles', () => {
  it('skips the credits of a folder and of its subfolders', async () => {
    const files = await listImageFiles(SAMPLES);
    expect(files).toHaveLength(100);
    expect(files.some((f) => f.endsWith('ATTRIBUTION.md'))).toBe(false);

    const dir = await mkdtemp(join(tmpdir(), 'credits-'));
    try {
      await mkdir(join(dir, 'cats'));
      for (const name of ['LICENSE', 'a.jpg', 'cats/README.md', 'cats/b.png', 'notes.txt']) await writeFile(join(dir, name), 'x');
      expect((await listImageFiles(dir)).map((f) => f.slice(dir.length + 1))).toEqual(['a.jpg', 'cats/b.png', 'notes.txt']);
      expect(await readCredits(join(dir, 'missing'))).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
