/**
 * Organising a collection through the pages: an import root that refuses `..` and a symbolic link
 * out; a folder of shared photos with resized and recompressed copies imported on the server; a
 * model trained on it; the Duplicates page grouping each copy with its original and nothing else;
 * keep-the-best deleting the copies (a job), undo bringing them back; the Outliers page; and the
 * shared photos folder imported through the page with live progress and its refusals.
 */
import { expect, test, type Page } from '@playwright/test';
import dicomParser from 'dicom-parser';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { type Atlas, keepLogOnFailure, startAtlas } from './atlas';
import { axeViolations, DESKTOP, screenshotsAtBothSizes } from './audit';
import { snapshot } from './pages';

const PHOTOS = resolve('..', 'shared', 'data', 'photos');
/** Photos that get a resized and a recompressed copy. */
const WITH_COPIES = ['kodak_kodim01.jpg', 'kodak_kodim05.jpg', 'kodak_kodim13.jpg', 'kodak_kodim23.jpg'];
/**
 * Photos on their own, unlike each other in colour: a model trained for seconds on 20 photos codes
 * mostly colour, and put a pale castle and a pale yellow rose at 1.7 % of the reference (seen).
 */
const ALONE = [
  'kodak_kodim02.jpg',
  'kodak_kodim08.jpg',
  'kodak_kodim19.jpg',
  'wmc_lake_vuoksa.jpg',
  'wmc_budapest_parliament_interior.jpg',
  'coco_000000000790.jpg',
  'flowers_tulips_54895006_55b49052dc.jpg',
  'flowers_daisy_909609509_a05ccb8127.jpg',
];

let atlas: Atlas;
let base: string;
let root: string;

test.describe.configure({ mode: 'serial' });
test.beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'atlas-organise-'));
  root = join(base, 'root');
  await mkdir(join(root, 'dups'), { recursive: true });
  await mkdir(join(base, 'outside'));
  await writeFile(join(base, 'outside', 'private.jpg'), await readFile(join(PHOTOS, ALONE[0]!)));
  await symlink(join(base, 'outside'), join(root, 'escape'));
  for (const name of [...WITH_COPIES, ...ALONE]) await writeFile(join(root, 'dups', name), await readFile(join(PHOTOS, name)));
  for (const name of WITH_COPIES) {
    const bytes = await readFile(join(PHOTOS, name));
    const { width } = await sharp(bytes).metadata();
    await writeFile(
      join(root, 'dups', `resized-${name}`),
      await sharp(bytes)
        .resize(Math.round(width! / 2))
        .jpeg({ quality: 85 })
        .toBuffer(),
    );
    await writeFile(join(root, 'dups', `recompressed-${name}`), await sharp(bytes).jpeg({ quality: 40 }).toBuffer());
  }
  atlas = await startAtlas({ LATENT_ATLAS_IMPORT_ROOTS: [root, resolve('..', 'shared', 'data')].join(':') });
});
// eslint-disable-next-line no-empty-pattern -- Playwright reads the fixtures from this pattern; none are needed
test.afterEach(async ({}, testInfo) => keepLogOnFailure(atlas, testInfo));
test.afterAll(async () => {
  await atlas?.stop();
  await rm(base, { recursive: true, force: true });
});

/** The page as it stands passes the axe audit and does not scroll sideways on a phone; screenshots at both sizes. */
async function audit(page: Page, name: string) {
  expect(await axeViolations(page), `${name}: WCAG 2 A/AA violations`).toEqual([]);
  expect(await screenshotsAtBothSizes(page, `page-${name}`), `${name}: scrolls sideways at 390 px`).toBeLessThanOrEqual(0);
  await page.setViewportSize(DESKTOP);
}

async function importFolder(page: Page, folder: string) {
  await page.goto(`${atlas.baseURL}/import`);
  await page.getByTestId('import-folder').fill(folder);
  await page.getByTestId('import-start').click();
}

test('an import root refuses a path out by .. and by a symbolic link', async ({ page }) => {
  await page.goto(`${atlas.baseURL}/import`);
  await expect(page.getByTestId('import-roots')).toContainText(root);
  await importFolder(page, `${root}/../outside`);
  await expect(page.getByTestId('import-error')).toContainText('outside the folders this server may import from');
  await page.getByTestId('import-folder').fill(join(root, 'escape'));
  await page.getByTestId('import-start').click();
  await expect(page.getByTestId('import-error')).toContainText('symbolic link');
  await expect(page.getByTestId('import-error')).not.toContainText(join(base, 'outside'));
  await expect(page.getByTestId('import-job')).toHaveCount(0);
});

test('near-duplicates are grouped with their originals only; keep-the-best deletes the copies; undo restores them', async ({
  page,
  request,
}) => {
  await importFolder(page, join(root, 'dups'));
  await expect(page.getByTestId('import-counts')).toHaveText('20 added, 0 already stored, 0 refused', { timeout: 60_000 });

  const trained = await request.post(`${atlas.baseURL}/api/models`, {
    data: {
      spec: {
        arch: 'conv',
        inputShape: [64, 64, 3],
        latentSize: 32,
        filters: [16, 32, 64],
        downsample: 'maxpool',
        upsampling: 'nearest',
        latentActivation: 'linear',
        outputActivation: 'sigmoid',
        loss: 'mse',
      },
      // About 75 steps: enough for codes that tell unrelated photos apart (3 epochs of 8 left a lake beside motorbikes).
      epochs: 15,
      batchSize: 4,
    },
  });
  expect(trained.status()).toBe(202);
  const jobId = (await trained.json()).job.id as number;
  await expect
    .poll(async () => (await (await request.get(`${atlas.baseURL}/api/jobs/${jobId}`)).json()).state, { timeout: 120_000 })
    .toBe('succeeded');

  await page.goto(`${atlas.baseURL}/duplicates`);
  // The search is a job of the worker: the page shows it and then what it found.
  await expect(page.getByTestId('dup-scan')).toHaveAttribute('data-state', 'succeeded');
  await expect(page.getByTestId('dup-scan')).toContainText('Searched 20 images');
  await expect(page.getByTestId('dup-summary')).toContainText('under 5 % of the typical distance');
  // A model trained for seconds on 20 photos is a rough judge of "unrelated": 2 % leaves a wide
  // margin on both sides here (copies lie at ~0.2 %, distinct photos past ~8 %: docs/experiments.md).
  await page.getByTestId('dup-fraction').selectOption('0.02');
  await expect(page.getByTestId('dup-summary')).toContainText('under 2 % of the typical distance');
  await expect(page.getByTestId('dup-group').first()).toBeVisible();
  const groups = page.getByTestId('dup-group');
  const found: string[][] = [];
  for (const group of await groups.all()) found.push((await group.getByTestId('dup-image').locator('.name').allTextContents()).sort());
  // Each photo with copies is one group with its two copies, and nothing else is grouped.
  expect(found.sort()).toEqual(WITH_COPIES.map((photo) => [photo, `recompressed-${photo}`, `resized-${photo}`].sort()).sort());
  await expect(page.getByTestId('dup-counts')).toHaveText('4 groups, 12 images');
  const firstSearch = await page.getByTestId('dup-scan').getAttribute('data-job');
  await page.getByTestId('dup-search-again').click();
  await expect(page.getByTestId('dup-scan')).not.toHaveAttribute('data-job', firstSearch!);
  await expect(page.getByTestId('dup-counts')).toHaveText('4 groups, 12 images');
  // The original (full resolution, the larger file) is the one kept.
  for (const group of await groups.all()) {
    const names = await group.getByTestId('dup-image').locator('.name').allTextContents();
    await expect(group.locator('[data-keep="true"] .name')).toHaveText(names.find((n) => !/^(resized|recompressed)-/.test(n))!);
  }
  await audit(page, 'duplicates');

  await page.getByTestId('keep-best-all').click();
  const plan = page.getByTestId('plan-item');
  await expect(plan).toHaveCount(8);
  for (const text of await plan.allTextContents()) expect(text).toMatch(/^(resized|recompressed)-/);
  await page.getByTestId('confirm-delete').click();
  await expect(page.getByTestId('delete-job')).toHaveAttribute('data-state', 'succeeded', { timeout: 30_000 });
  await expect(page.getByTestId('dup-counts')).toHaveText('0 groups, 0 images');
  await expect(page.getByTestId('trash-count')).toHaveText('8 images in the trash');
  const live = async () =>
    (await (await request.get(`${atlas.baseURL}/api/images?limit=100`)).json()).images.map((i: { originalName: string }) => i.originalName);
  expect((await live()).sort()).toEqual([...WITH_COPIES, ...ALONE].sort());

  await page.getByTestId('undo-delete').click();
  await expect(page.getByTestId('dup-message')).toHaveText('Restored 8 images.');
  await expect(page.getByTestId('trash-count')).toHaveText('0 images in the trash');
  expect(await live()).toHaveLength(20);
  await expect(page.getByTestId('dup-counts')).toHaveText('4 groups, 12 images');
});

test('the Outliers page ranks the library by reconstruction error', async ({ page }) => {
  await page.goto(`${atlas.baseURL}/outliers`);
  const items = page.getByTestId('outliers-grid').getByTestId('grid-item');
  await expect(items).toHaveCount(20);
  const errors = (await items.getByTestId('score').allTextContents()).map((t) => Number(t.replace('error ', '')));
  expect(errors).toEqual([...errors].sort((a, b) => b - a));
  await audit(page, 'outliers');
  await page.getByTestId('outliers-by').selectOption('centre');
  await expect(page.getByTestId('outliers-error')).toContainText('no clustering of this model yet');
});

test('an uploaded DICOM is stored de-identified, says so, and its kept tags are labels to filter by', async ({ page, request }) => {
  const ct = await readFile('/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm');
  const patient = dicomParser.parseDicom(ct).string('x00100010')!.trim();
  const uploaded = await request.post(`${atlas.baseURL}/api/images`, {
    multipart: { modality: 'xray', file: { name: 'ct.dcm', mimeType: 'application/dicom', buffer: ct } },
  });
  expect(uploaded.status()).toBe(200);
  const id = (await uploaded.json()).results[0].id as number;
  await page.goto(`${atlas.baseURL}/images/${id}`);
  await expect(page.getByTestId('deidentified')).toContainText('De-identified on import');
  const original = await (await request.get(`${atlas.baseURL}/api/images/${id}/original`)).body();
  expect(ct.includes(Buffer.from(patient))).toBe(true);
  expect(original.includes(Buffer.from(patient))).toBe(false);
  await page.goto(`${atlas.baseURL}/`);
  await expect(page.getByTestId('search-label').locator('option', { hasText: 'modality: CT' })).toHaveCount(1);
});

test('the shared photos folder imports through the page with live progress and its refusals', async ({ page }) => {
  await importFolder(page, '../shared/data/photos');
  await expect(page.getByTestId('import-progress')).toContainText(/\d+ of 188 files/, { timeout: 30_000 });
  await snapshot(page, 'import-progress');
  await expect(page.getByTestId('import-counts')).toHaveText('175 added, 12 already stored, 1 refused', { timeout: 120_000 });
  // The credits (ATTRIBUTION.md) are skipped, not refused; labels.csv is not an image.
  await expect(page.getByTestId('import-refused-file')).toHaveText([/^labels\.csv .+/]);
  await audit(page, 'import');
});
