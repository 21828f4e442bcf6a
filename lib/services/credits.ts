/**
 * A data set's credits: the ATTRIBUTION / LICENSE / README / NOTICE files that travel with the
 * images. They are not images, so ingest skips them (never reported as refused files), and the
 * Library page shows the sample set's own, read here into plain blocks (headings, paragraphs,
 * lists, tables) that a page can render without a Markdown library.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isCreditFile } from '../credit-files';

export type CreditBlock =
  | { kind: 'heading'; text: string }
  | { kind: 'paragraph'; text: string }
  | { kind: 'list'; items: string[] }
  | { kind: 'table'; header: string[]; rows: string[][] };

export interface Credits {
  /** The file's name in its folder. */
  name: string;
  blocks: CreditBlock[];
}

const cells = (line: string) =>
  line
    .trim()
    .replace(/^\||\|$/g, '')
    .split('|')
    .map((c) => c.trim());
const isSeparatorRow = (line: string) => /^\|?[\s:|-]+\|?$/.test(line.trim()) && line.includes('-');
/** Markdown emphasis and code marks dropped: the page shows the words. */
const plain = (text: string) => text.replace(/[*_`]+/g, '').trim();

/** Markdown as blocks: `#` headings, `*`/`-` lists, `|` tables; everything else paragraphs (lines joined). */
export function parseCredits(markdown: string): CreditBlock[] {
  const blocks: CreditBlock[] = [];
  const lines = markdown.split(/\r?\n/);
  for (let i = 0; i < lines.length;) {
    const line = lines[i]!.trim();
    if (!line) {
      i++;
    } else if (line.startsWith('#')) {
      blocks.push({ kind: 'heading', text: plain(line.replace(/^#+/, '')) });
      i++;
    } else if (line.startsWith('|')) {
      const rows: string[][] = [];
      for (; i < lines.length && lines[i]!.trim().startsWith('|'); i++)
        if (!isSeparatorRow(lines[i]!)) rows.push(cells(lines[i]!).map(plain));
      const [header = [], ...body] = rows;
      blocks.push({ kind: 'table', header, rows: body });
    } else if (/^[*-]\s/.test(line)) {
      const items: string[] = [];
      for (; i < lines.length && /^[*-]\s/.test(lines[i]!.trim()); i++) items.push(plain(lines[i]!.trim().slice(2)));
      blocks.push({ kind: 'list', items });
    } else {
      const words: string[] = [];
      for (; i < lines.length && lines[i]!.trim() && !/^(#|\||[*-]\s)/.test(lines[i]!.trim()); i++) words.push(lines[i]!.trim());
      blocks.push({ kind: 'paragraph', text: plain(words.join(' ')) });
    }
  }
  return blocks;
}

/** The credits files directly in `dir` (not in its subfolders), read and parsed; none when there are none. */
export async function readCredits(dir: string): Promise<Credits[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const files = entries
    .filter((e) => e.isFile() && isCreditFile(e.name))
    .map((e) => e.name)
    .sort();
  return Promise.all(files.map(async (name) => ({ name, blocks: parseCredits(await readFile(join(dir, name), 'utf8')) })));
}
