/** Library uploads: several real photos at once with one corrupt file reported, and a refused format with its reason. */
import { readFile, writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { startAtlas, type Atlas } from './atlas';
import { LibraryPage, snapshot } from './pages';

const FLOWERS = 'data/samples/flowers';
let atlas: Atlas;
let dir: string;

test.beforeAll(async () => {
  atlas = await startAtlas();
  dir = await mkdtemp(join(tmpdir(), 'atlas-upload-'));
  const jpeg = await readFile(`${FLOWERS}/tulips/10128546863_8de70c610d.jpg`);
  await writeFile(join(dir, 'truncated.jpg'), jpeg.subarray(0, Math.floor(jpeg.length / 3)));
  await writeFile(
    join(dir, 'drawing.svg'),
    '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>',
  );
});
test.afterAll(async () => atlas.stop());
test.use({ baseURL: '' });

test('bulk upload stores the good files and reports the corrupt one with its reason', async ({ page }) => {
  await page.goto(`${atlas.baseURL}/library`);
  const library = new LibraryPage(page);
  await expect(page.getByTestId('hint-empty')).toBeVisible();
  await library.upload([
    `${FLOWERS}/daisy/10993818044_4c19b86c82.jpg`,
    `${FLOWERS}/roses/12395698413_c0388278f7.jpg`,
    `${FLOWERS}/sunflowers/1484598527_579a272f53.jpg`,
    join(dir, 'truncated.jpg'),
  ]);
  await expect(page.getByTestId('upload-counts')).toHaveText('3 added, 0 already stored, 1 refused');
  await expect(library.refused()).toHaveCount(1);
  await expect(library.refused()).toContainText('truncated.jpg');
  await expect(library.refused()).toContainText(/corrupt or truncated/);
  await expect(library.gridItems()).toHaveCount(3);
  await snapshot(page, 'library-upload');

  // The same files again: recognised, nothing added twice.
  await library.upload([`${FLOWERS}/daisy/10993818044_4c19b86c82.jpg`]);
  await expect(page.getByTestId('upload-counts')).toHaveText('0 added, 1 already stored, 0 refused');
  await expect(library.gridItems()).toHaveCount(3);
});

test('a refused upload shows why', async ({ page }) => {
  await page.goto(`${atlas.baseURL}/library`);
  const library = new LibraryPage(page);
  await library.upload([join(dir, 'drawing.svg')]);
  await expect(library.refused()).toHaveCount(1);
  await expect(library.refused()).toContainText(/SVG/i);
  await snapshot(page, 'library-refused');
  const api = await page.request.get(`${atlas.baseURL}/api/images`);
  expect((await api.json()).total).toBe(3);
});
