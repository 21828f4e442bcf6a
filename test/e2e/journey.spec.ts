/**
 * A newcomer's path on a fresh library, following the pages' own hints: load the sample set →
 * train a small model (live progress) → search by an uploaded image → "more like this" → cluster
 * and open a cluster → the map opens an image → the image page shows original, latent and
 * reconstruction. Then the same flows by keyboard alone, and every page, populated, audited
 * (WCAG 2 A/AA, no sideways scrolling at 390 px, screenshots at 390 and 1400 px).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { axeViolations, screenshotsAtBothSizes, tabTo, DESKTOP, type Violation } from './audit';
import { type Atlas, keepLogOnFailure, startAtlas } from './atlas';
import { ClustersPage, LibraryPage, ModelsPage, SearchPage, snapshot } from './pages';

const QUERY = 'data/samples/flowers/sunflowers/1484598527_579a272f53.jpg';
let atlas: Atlas;

test.describe.configure({ mode: 'serial' });
test.beforeAll(async () => {
  // Server-side import on, so the audit sees the Import page's form (it is off by default).
  atlas = await startAtlas({ LATENT_ATLAS_IMPORT_ROOTS: resolve('data/samples') });
});
// eslint-disable-next-line no-empty-pattern -- Playwright reads the fixtures from this pattern; none are needed
test.afterEach(async ({}, testInfo) => keepLogOnFailure(atlas, testInfo));
test.afterAll(async () => atlas.stop());

test('from an empty library to a trained model', async ({ page }) => {
  await page.goto(`${atlas.baseURL}/`);
  await expect(page.getByTestId('hint-empty')).toBeVisible();
  await expect(page.getByTestId('status-backend')).toContainText(/wasm|tensorflow|cpu/);
  await snapshot(page, 'search-empty');

  const library = new LibraryPage(page);
  await page.goto(`${atlas.baseURL}/library`);
  await library.loadSamples();
  await expect(page.getByTestId('status-images')).toHaveText('100 images');
  await expect(library.gridItems()).toHaveCount(60);
  await expect(page.getByTestId('hint-no-model')).toBeVisible();
  await snapshot(page, 'library');

  const models = new ModelsPage(page);
  await page.goto(`${atlas.baseURL}/models`);
  await models.train(4);
  const job = page.getByTestId('train-job');
  await expect(job.locator('[data-state="running"], [data-state="succeeded"]')).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId('train-done')).toBeVisible({ timeout: 180_000 });
  await expect(page.getByTestId('loss-chart').first()).toBeVisible();
  // The chart's text alternative says what it shows: the epochs and the last loss.
  await expect(page.getByTestId('loss-chart').first().locator('canvas')).toHaveAttribute(
    'aria-label',
    /over 4 epochs: last \(epoch 4\) training loss \d+\.\d{5}/,
  );
  await expect(page.getByTestId('model-row')).toHaveCount(1);
  await expect(page.getByTestId('model-row')).toHaveAttribute('data-active', 'true');
  await snapshot(page, 'models');
});

test('search by an uploaded image, then more like this', async ({ page }) => {
  const search = new SearchPage(page);
  await page.goto(`${atlas.baseURL}/`);
  await search.searchWith(QUERY);
  await expect(search.results()).toHaveCount(12);
  // The query is itself in the library: it comes first, at distance 0.
  await expect(search.results().first()).toContainText('1484598527_579a272f53.jpg');
  await expect(search.results().first().getByTestId('score')).toHaveText('similarity 1.000');
  await snapshot(page, 'search-results');
  const second = await search.results().nth(1).getAttribute('data-image-id');
  await search.results().nth(1).getByTestId('more-like-this').click();
  await expect(page.getByTestId('query-preview')).toHaveAttribute('src', `/api/images/${second}/thumbnail`);
  await expect(search.results()).toHaveCount(12);
  await expect(page.locator(`[data-testid="search-results"] [data-image-id="${second}"]`)).toHaveCount(0);
});

test('cluster the library, open a cluster, open an image from the map', async ({ page }) => {
  const clusters = new ClustersPage(page);
  await page.goto(`${atlas.baseURL}/clusters`);
  await clusters.run(5);
  await expect(clusters.cards()).toHaveCount(5, { timeout: 60_000 });
  const sizes = await clusters.cards().locator('.muted.small').first().textContent();
  expect(sizes).toMatch(/\d+ images/);
  await expect(page.getByTestId('latent-map')).toHaveAttribute('data-points', '100');
  await snapshot(page, 'clusters');

  // Hover across the map until a point is within reach (how the points spread depends on the
  // model: tight clusters leave empty space): it lights up and says where it is drawn; click it.
  const canvas = page.getByTestId('latent-map').locator('canvas');
  const box = (await canvas.boundingBox())!;
  for (const [fx, fy] of [0.5, 0.3, 0.7].flatMap((fy) => [0.5, 0.3, 0.7, 0.15, 0.85].map((fx) => [fx, fy] as const))) {
    await canvas.hover({ position: { x: box.width * fx, y: box.height * fy } });
    if (await page.getByTestId('latent-map').getAttribute('data-hover-point')) break;
  }
  await expect(page.getByTestId('latent-map')).toHaveAttribute('data-hover-point', /^\d+,\d+$/);
  const [x, y] = (await page.getByTestId('latent-map').getAttribute('data-hover-point'))!.split(',').map(Number);
  await canvas.click({ position: { x: x!, y: y! } });
  await expect(page).toHaveURL(/\/images\/\d+$/);
  await expect(page.getByTestId('image-title')).toBeVisible();

  // The same from the keyboard: focus the map, move until an image sits at the centre (it is shown
  // and announced), Enter opens that image.
  await page.goto(`${atlas.baseURL}/clusters`);
  const map = page.getByTestId('latent-map');
  await expect(map).toHaveAttribute('data-points', '100');
  await map.focus();
  const spiral = ['-', ...['ArrowRight', 'ArrowDown', 'ArrowLeft', 'ArrowUp'].flatMap((key, i) => Array<string>(i + 1).fill(key))];
  for (const key of [...spiral, ...spiral]) {
    if (await map.getAttribute('data-hover-id')) break;
    await page.keyboard.press(key);
  }
  const chosen = await map.getAttribute('data-hover-id');
  expect(chosen).toMatch(/^\d+$/);
  await expect(page.getByTestId('map-announce')).toContainText(`Image ${chosen}`);
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(new RegExp(`/images/${chosen}$`));

  await page.goto(`${atlas.baseURL}/clusters`);
  await expect(clusters.cards()).toHaveCount(5);
  // Open the largest cluster.
  const counts = await clusters.cards().evaluateAll((cards) => cards.map((c) => Number(c.getAttribute('data-size'))));
  const largest = counts.indexOf(Math.max(...counts));
  await clusters.cards().nth(largest).getByTestId('cluster-open').click();
  await expect(page.getByTestId('cluster-title')).toBeVisible();
  const members = page.getByTestId('cluster-members').getByTestId('grid-item');
  await expect(members).toHaveCount(counts[largest]!);
  await snapshot(page, 'cluster');

  // Correct it by hand: move one image to another cluster.
  await page.getByTestId('select-member').first().check();
  await page.getByTestId('move-target').selectOption({ index: 1 });
  await page.getByTestId('move-selected').click();
  await expect(members).toHaveCount(counts[largest]! - 1);
});

test('search within one cluster returns only its members', async ({ page }) => {
  const runs = await (await page.request.get(`${atlas.baseURL}/api/clusters`)).json();
  const runId = runs.runs[0].id as number;
  const cluster = await (await page.request.get(`${atlas.baseURL}/api/clusters/${runId}/0?limit=500`)).json();
  const ids = (cluster.members as { id: number }[]).map((m) => m.id);
  const response = await page.request.post(`${atlas.baseURL}/api/search`, { data: { imageId: ids[0], k: 100, run: runId, cluster: 0 } });
  const hits = ((await response.json()).hits as { image: { id: number } }[]).map((h) => h.image.id);
  expect(hits).toHaveLength(ids.length - 1);
  for (const id of hits) expect(ids).toContain(id);

  await page.goto(`${atlas.baseURL}/`);
  await page.getByTestId('search-cluster').selectOption(`${runId}:0`);
  await new SearchPage(page).searchWith(QUERY);
  await expect(page.getByTestId('search-query').first()).toContainText('most similar images');
  expect(await new SearchPage(page).results().count()).toBeLessThanOrEqual(ids.length);
});

test('the image page shows original, latent vector and reconstruction', async ({ page }) => {
  const images = await (await page.request.get(`${atlas.baseURL}/api/images?limit=1`)).json();
  const id = images.images[0].id as number;
  await page.goto(`${atlas.baseURL}/images/${id}`);
  await expect(page.getByTestId('original').locator('img')).toHaveJSProperty('complete', true);
  expect(
    await page
      .getByTestId('original')
      .locator('img')
      .evaluate((img: HTMLImageElement) => img.naturalWidth),
  ).toBeGreaterThan(100);
  await expect(page.getByTestId('latent-chart')).toHaveAttribute('data-dims', '32');
  await expect(page.getByTestId('reconstruction').locator('img')).toBeVisible();
  await expect(page.getByTestId('reconstruction-error')).toHaveText(/^0\.\d{5}$/);
  const clean = Number(await page.getByTestId('reconstruction-error').textContent());
  await page.getByTestId('noise-slider').fill('0.5');
  // The caption names the noise of the answer shown; a failed request says so instead (and the poll shows its message).
  const failed = page.getByTestId('reconstruction-failed');
  await expect
    .poll(async () => ((await failed.count()) ? await failed.textContent() : await page.getByTestId('model-input').textContent()))
    .toContain('noise σ = 0.5)');
  await expect(page.getByTestId('model-input')).not.toContainText('updating');
  await expect.poll(async () => Number(await page.getByTestId('reconstruction-error').textContent())).not.toBe(clean);
  await expect(page.getByTestId('neighbors').getByTestId('grid-item')).toHaveCount(12);
  await page.getByTestId('neighbors').getByTestId('walk-to').first().click();
  await expect(page.getByTestId('walk-strip')).toHaveJSProperty('complete', true);
  await snapshot(page, 'image');
});

interface AuditedPage {
  name: string;
  path: string;
  /** Waits until the page shows what it shows with a populated library (and does what it takes: a search). */
  ready: (page: Page) => Promise<void>;
}

/**
 * Every page of the app, each with a populated library: the audit visits them all, and a test
 * fails when the navigation links to a page missing here (a new page cannot be forgotten).
 */
async function everyPage(page: Page): Promise<AuditedPage[]> {
  const runs = (await (await page.request.get(`${atlas.baseURL}/api/clusters`)).json()).runs as { id: number }[];
  const images = (await (await page.request.get(`${atlas.baseURL}/api/images?limit=1`)).json()).images as { id: number }[];
  const runId = runs[0]!.id;
  return [
    {
      name: 'search',
      path: '/',
      ready: async (p) => {
        await new SearchPage(p).searchWith(QUERY);
        await expect(new SearchPage(p).results()).toHaveCount(12);
      },
    },
    {
      name: 'library',
      path: '/library',
      ready: async (p) => {
        await expect(new LibraryPage(p).gridItems()).toHaveCount(60);
        await expect(p.getByTestId('sample-credits')).toBeVisible();
      },
    },
    {
      name: 'clusters',
      path: '/clusters',
      ready: async (p) => {
        await expect(p.getByTestId('latent-map')).toHaveAttribute('data-points', '100');
        await expect(p.getByTestId('elbow-chart')).toBeVisible();
        await expect(new ClustersPage(p).cards().first()).toBeVisible();
      },
    },
    {
      name: 'cluster',
      path: `/clusters/${runId}/0`,
      ready: (p) => expect(p.getByTestId('cluster-members').getByTestId('grid-item').first()).toBeVisible(),
    },
    {
      name: 'image',
      path: `/images/${images[0]!.id}`,
      ready: async (p) => {
        await expect(p.getByTestId('reconstruction-error')).toBeVisible();
        await expect(p.getByTestId('neighbors').getByTestId('grid-item')).toHaveCount(12);
      },
    },
    {
      name: 'models',
      path: '/models',
      ready: async (p) => {
        await expect(p.getByTestId('model-row')).toHaveCount(1);
        await expect(p.getByTestId('loss-chart').first()).toBeVisible();
      },
    },
    { name: 'segment', path: '/segment', ready: (p) => expect(p.getByTestId('hint-no-segmenter')).toBeVisible() },
    { name: 'duplicates', path: '/duplicates', ready: (p) => expect(p.getByTestId('dup-summary')).toBeVisible() },
    {
      name: 'outliers',
      path: '/outliers',
      ready: (p) => expect(p.getByTestId('outliers-grid').getByTestId('grid-item')).toHaveCount(24),
    },
    { name: 'import', path: '/import', ready: (p) => expect(p.getByTestId('import-form')).toBeVisible() },
  ];
}

test('keyboard only: upload, search, open a result, run clustering, move an image between clusters', async ({ page }) => {
  // Upload: Tab to "choose files", Enter opens the file chooser.
  await page.goto(`${atlas.baseURL}/library`);
  await tabTo(page, 'library-drop-choose');
  let chooser = page.waitForEvent('filechooser');
  await page.keyboard.press('Enter');
  await (await chooser).setFiles(QUERY);
  await expect(page.getByTestId('upload-summary')).toContainText('Done');
  await expect(page.getByTestId('upload-counts')).toContainText('1 already stored');

  // Search by an image, then open the first result.
  await page.goto(`${atlas.baseURL}/`);
  await tabTo(page, 'search-drop-choose');
  chooser = page.waitForEvent('filechooser');
  await page.keyboard.press('Enter');
  await (await chooser).setFiles(QUERY);
  await expect(new SearchPage(page).results()).toHaveCount(12);
  const first = await new SearchPage(page).results().first().getAttribute('data-image-id');
  await tabTo(page, 'open-image');
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(new RegExp(`/images/${first}$`));
  await expect(page.getByTestId('image-title')).toBeVisible();

  // Run clustering with automatic k (the default choice), then open a cluster.
  const clusters = new ClustersPage(page);
  await page.goto(`${atlas.baseURL}/clusters`);
  await expect(page.getByTestId('cluster-run').locator('option')).toHaveCount(1);
  await tabTo(page, 'cluster-k');
  await expect(page.getByTestId('cluster-k')).toHaveValue('auto');
  await tabTo(page, 'run-clustering');
  await page.keyboard.press('Enter');
  await expect(page.getByTestId('cluster-run').locator('option')).toHaveCount(2, { timeout: 60_000 });
  await expect(page.getByTestId('elbow-chart').locator('canvas')).toHaveAttribute(
    'aria-label',
    /for k from 2 to 12: chosen k = \d+, silhouette -?\d\.\d{3}\.$/,
  );
  const size = Number(await clusters.cards().first().getAttribute('data-size'));
  await tabTo(page, 'cluster-open');
  await page.keyboard.press('Enter');
  const members = page.getByTestId('cluster-members').getByTestId('grid-item');
  await expect(members).toHaveCount(size);

  // Move one image to another cluster: Space ticks it, the arrow keys choose the target, Enter moves it.
  await tabTo(page, 'select-member');
  await page.keyboard.press('Space');
  await expect(page.getByTestId('select-member').first()).toBeChecked();
  // The target and the button sit above the grid: back up with Shift+Tab.
  await tabTo(page, 'move-target', { back: true });
  await page.keyboard.press('ArrowDown');
  await expect(page.getByTestId('move-target')).not.toHaveValue('');
  await tabTo(page, 'move-selected');
  await page.keyboard.press('Enter');
  await expect(members).toHaveCount(size - 1);
});

test('every page, populated: no WCAG 2 A/AA violation, no sideways scrolling at 390 px, screenshots at 390 and 1400 px', async ({
  page,
}) => {
  const pages = await everyPage(page);
  // The navigation links to no page the audit would miss.
  await page.goto(`${atlas.baseURL}/`);
  const links = await page.locator('header nav a').evaluateAll((as) => as.map((a) => new URL((a as HTMLAnchorElement).href).pathname));
  expect(links.length).toBeGreaterThan(0);
  for (const link of links)
    expect(
      pages.map((p) => p.path),
      `the nav links to ${link}: add it to everyPage()`,
    ).toContain(link);

  const report: Record<string, { violations: Violation[]; sidewaysAt390: number }> = {};
  for (const audited of pages) {
    await page.setViewportSize(DESKTOP);
    await page.goto(`${atlas.baseURL}${audited.path}`);
    await audited.ready(page);
    const violations = await axeViolations(page);
    report[audited.name] = { violations, sidewaysAt390: await screenshotsAtBothSizes(page, `page-${audited.name}`) };
  }
  await mkdir('test-results/a11y', { recursive: true });
  await writeFile('test-results/a11y/audit.json', JSON.stringify(report, null, 2));
  const summary = Object.fromEntries(
    Object.entries(report).map(([name, r]) => [
      name,
      { elements: r.violations.reduce((n, v) => n + v.elements.length, 0), sideways: r.sidewaysAt390 },
    ]),
  );
  console.log('audit (violating elements, sideways px at 390):', JSON.stringify(summary));
  for (const [name, r] of Object.entries(report)) {
    expect(r.violations, `${name}: WCAG 2 A/AA violations`).toEqual([]);
    expect(r.sidewaysAt390, `${name}: scrolls sideways at 390 px`).toBeLessThanOrEqual(0);
  }
});
