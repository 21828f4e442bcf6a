/** Library uploads: several real photos at once with one corrupt file reported, a refused format with its reason, and whole folders (chosen or dropped) without their credits files. */
import { copyFile, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { type Atlas, keepLogOnFailure, startAtlas } from './atlas';
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
// eslint-disable-next-line no-empty-pattern -- Playwright reads the fixtures from this pattern; none are needed
test.afterEach(async ({}, testInfo) => keepLogOnFailure(atlas, testInfo));
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

test('a chosen folder sends its images, skips its credits and hidden files, and names what it skipped', async ({ page }) => {
  const folder = join(dir, 'trip');
  await mkdir(join(folder, 'tulips'), { recursive: true });
  await copyFile(`${FLOWERS}/tulips/13903937027_44b9f2f5b8.jpg`, join(folder, 'tulips', 'a.jpg'));
  await copyFile(`${FLOWERS}/tulips/13910028149_6c9d5485ef.jpg`, join(folder, 'b.jpg'));
  await copyFile(`${FLOWERS}/ATTRIBUTION.md`, join(folder, 'ATTRIBUTION.md'));
  await writeFile(join(folder, '.DS_Store'), 'Bud1');
  await page.goto(`${atlas.baseURL}/library`);
  await page.getByTestId('library-drop-folder').setInputFiles(folder);
  await expect(page.getByTestId('upload-summary')).toContainText('Done', { timeout: 60_000 });
  await expect(page.getByTestId('upload-counts')).toHaveText('2 added, 0 already stored, 0 refused');
  await expect(page.getByTestId('upload-skipped')).toContainText('trip/ATTRIBUTION.md');
  await expect(page.getByTestId('upload-row')).toHaveText([/trip\/b\.jpg|trip\/tulips\/a\.jpg/, /trip\/b\.jpg|trip\/tulips\/a\.jpg/]);
});

test('a dropped folder is walked to the bottom, its credits skipped', async ({ page }) => {
  await page.goto(`${atlas.baseURL}/library`);
  const jpeg = (await readFile(`${FLOWERS}/roses/13264214185_d6aa79b3bd.jpg`)).toString('base64');
  // A drop of one folder, "holiday", as Chromium hands it over: entries read in chunks until an empty one.
  await page.getByTestId('library-drop').evaluate((zone, jpegBase64) => {
    const bytes = Uint8Array.from(atob(jpegBase64), (c) => c.charCodeAt(0));
    const file = (path: string, body: BlobPart) => {
      const name = path.split('/').pop()!;
      return { isFile: true, isDirectory: false, name, fullPath: `/${path}`, file: (ok: (f: File) => void) => ok(new File([body], name)) };
    };
    const folder = (path: string, children: object[]) => ({
      isFile: false,
      isDirectory: true,
      name: path.split('/').pop()!,
      fullPath: `/${path}`,
      createReader: () => {
        const chunks = [children.slice(0, 1), children.slice(1), []];
        return { readEntries: (ok: (entries: object[]) => void) => ok(chunks.shift() ?? []) };
      },
    });
    const root = folder('holiday', [
      file('holiday/ATTRIBUTION.md', '# credits'),
      folder('holiday/day1', [file('holiday/day1/rose.jpg', bytes), file('holiday/day1/.hidden.jpg', bytes)]),
    ]);
    const drop = new Event('drop', { bubbles: true, cancelable: true });
    Object.defineProperty(drop, 'dataTransfer', { value: { items: [{ webkitGetAsEntry: () => root }], files: [] } });
    zone.dispatchEvent(drop);
  }, jpeg);
  await expect(page.getByTestId('upload-summary')).toContainText('Done', { timeout: 60_000 });
  await expect(page.getByTestId('upload-row')).toHaveText([/holiday\/day1\/rose\.jpg\s*added/]);
  await expect(page.getByTestId('upload-skipped')).toContainText('holiday/ATTRIBUTION.md');
});
