/**
 * The WebGL map at scale: a library of 200,000 images (rows, vectors and a stored map, made fast by
 * a test helper) draws on the Clusters page; hovering a point shows that image, colouring by label
 * fills the legend with the labels and their counts.
 */
import { expect, test } from '@playwright/test';
import { fillMapLibrary } from '../helpers/map-library';
import { type Atlas, keepLogOnFailure, startAtlas } from './atlas';
import { snapshot } from './pages';

const POINTS = 200_000;
let atlas: Atlas;

test.beforeAll(async () => {
  atlas = await startAtlas({}, (dataDir) => fillMapLibrary(dataDir, POINTS, 12));
});
// eslint-disable-next-line no-empty-pattern -- Playwright reads the fixtures from this pattern; none are needed
test.afterEach(async ({}, testInfo) => keepLogOnFailure(atlas, testInfo));
test.afterAll(async () => atlas.stop());

test('a map of 200,000 points draws, hovers one and colours by label', async ({ page }) => {
  await page.goto(`${atlas.baseURL}/clusters`);
  const map = page.getByTestId('latent-map');
  await expect(map).toHaveAttribute('data-points', String(POINTS), { timeout: 60_000 });
  await expect(map).toHaveAttribute('data-drawn-ms', /^\d+$/, { timeout: 60_000 });
  await expect(page.getByTestId('map-canvas')).toHaveAttribute('aria-label', /Map of 200,000 images/);

  // The middle of a blob: the nearest point lights up and its thumbnail is asked for.
  const canvas = page.getByTestId('map-canvas');
  const box = (await canvas.boundingBox())!;
  const hoverOnce = async (x: number, y: number) => {
    await canvas.hover({ position: { x, y } });
    return map.getAttribute('data-hover-id');
  };
  let hovered: string | null = null;
  for (const [fx, fy] of [
    [0.5, 0.5],
    [0.3, 0.3],
    [0.7, 0.6],
    [0.4, 0.7],
  ] as const) {
    hovered = await hoverOnce(box.width * fx, box.height * fy);
    if (hovered) break;
  }
  expect(hovered).toMatch(/^\d+$/);
  await expect(page.getByTestId('map-hover')).toHaveAttribute('src', `/api/images/${hovered}/thumbnail`);
  const id = Number(hovered);
  expect(id).toBeGreaterThanOrEqual(1);
  expect(id).toBeLessThanOrEqual(POINTS);

  await page.getByTestId('map-color').selectOption('label');
  const legend = page.getByTestId('map-legend').locator('li');
  await expect(legend).toHaveCount(12);
  await expect(legend.first()).toContainText(/group 0 \(16,667\)/);
  await snapshot(page, 'map-200k');
});
