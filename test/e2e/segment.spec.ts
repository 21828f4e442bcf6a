/** The Segment page: with a (briefly trained) segmentation model, an uploaded photo gets its mask overlay and area. */
import { spawnSync } from 'node:child_process';
import { expect, test } from '@playwright/test';
import { type Atlas, keepLogOnFailure, startAtlas } from './atlas';
import { snapshot } from './pages';

const PHOTO = '../shared/data/segmentation/images';
let atlas: Atlas;

test.beforeAll(async () => {
  atlas = await startAtlas();
  // A tiny model from the real COCO person masks: enough to show the page working end to end.
  const trained = spawnSync(
    process.execPath,
    ['--import', 'tsx', 'scripts/train-seg.ts', '--size', '32', '--filters', '4,8', '--convs', '1', '--epochs', '1', '--limit', '8'],
    { env: { ...process.env, LATENT_ATLAS_DATA_DIR: atlas.dataDir }, encoding: 'utf8' },
  );
  expect(trained.status, trained.stderr).toBe(0);
});
// eslint-disable-next-line no-empty-pattern -- Playwright reads the fixtures from this pattern; none are needed
test.afterEach(async ({}, testInfo) => keepLogOnFailure(atlas, testInfo));
test.afterAll(async () => atlas.stop());

test('upload a photo and see the predicted mask over it, with its area', async ({ page }) => {
  const { readdirSync } = await import('node:fs');
  const photo = `${PHOTO}/${readdirSync(PHOTO).sort()[0]}`;
  await page.goto(`${atlas.baseURL}/segment`);
  await expect(page.getByTestId('segment-model')).toBeVisible();
  await page.getByTestId('segment-drop-input').setInputFiles(photo);
  await expect(page.getByTestId('segment-overlay')).toBeVisible();
  await expect(page.getByTestId('segment-overlay')).toHaveJSProperty('complete', true);
  await expect(page.getByTestId('segment-area')).toHaveText(/^\d{1,3}\.\d%$/);
  await page.getByTestId('mask-opacity').fill('0.3');
  await expect(page.getByTestId('segment-overlay')).toHaveCSS('opacity', '0.3');
  await snapshot(page, 'segment');

  await page.goto(`${atlas.baseURL}/models`);
  await expect(page.getByTestId('segmentation-models')).toContainText('training pairs');
});

test('a file that is not an image is refused with its reason', async ({ page }) => {
  await page.goto(`${atlas.baseURL}/segment`);
  await page.getByTestId('segment-drop-input').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') });
  await expect(page.getByTestId('segment-error')).toContainText(/unrecognised format/);
});
