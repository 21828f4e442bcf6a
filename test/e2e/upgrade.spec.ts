/**
 * An upgrade that changed how images become model inputs, against the real app (scripts/start.ts:
 * web server and worker): a library whose vectors were made the old way (models.vectors_input_version
 * 1, MODEL_INPUT_VERSION today 2) is re-embedded by the worker on its own, once; the status area
 * says why; search answers while it runs and after; the model is then current.
 */
import { rmSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { initEngine } from '../../lib/engine/backend';
import { parseConfig } from '../../lib/config';
import { MODEL_INPUT_VERSION } from '../../lib/images/image-decoder';
import type { Job } from '../../lib/jobs/job-service';
import { ingestFolder } from '../../lib/services/ingest-service';
import { openLibrary } from '../../lib/services/library';
import { activeModel, setVectorsInputVersion, vectorsInputVersion } from '../../lib/store/models-repo';
import { addModel, fashionFolder } from '../helpers/library';
import { type Atlas, keepLogOnFailure, startAtlas } from './atlas';

const IMAGES = 120;
let atlas: Atlas;

test.describe.configure({ mode: 'serial' });
test.beforeAll(async () => {
  atlas = await startAtlas({}, async (dataDir) => {
    await initEngine('wasm');
    const library = openLibrary(parseConfig({ LATENT_ATLAS_DATA_DIR: dataDir, LATENT_ATLAS_WORKERS: '1' }));
    const folder = await fashionFolder(IMAGES);
    try {
      const model = await addModel(library, 'before-the-upgrade', 8, true);
      await ingestFolder(library, folder);
      setVectorsInputVersion(library.db, model.id, 1); // as the previous release left it
    } finally {
      library.close();
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
// eslint-disable-next-line no-empty-pattern -- Playwright reads the fixtures from this pattern; none are needed
test.afterEach(async ({}, testInfo) => keepLogOnFailure(atlas, testInfo));
test.afterAll(async () => atlas.stop());

test('the worker re-embeds a library embedded before the upgrade, once, saying why; search answers throughout', async ({
  page,
  request,
}) => {
  const embedJobs = async (): Promise<Job[]> =>
    ((await (await request.get(`${atlas.baseURL}/api/jobs?limit=50`)).json()) as { jobs: Job[] }).jobs.filter((j) => j.kind === 'embed');
  const deadline = Date.now() + 120_000;
  let jobs = await embedJobs();
  while (!jobs.some((j) => j.state === 'succeeded') && Date.now() < deadline) {
    const search = await request.post(`${atlas.baseURL}/api/search`, { data: { imageId: 1, k: 3 } });
    expect(search.status()).toBe(200);
    expect((await search.json()).hits).toHaveLength(3);
    jobs = await embedJobs();
  }
  expect(jobs.map((j) => [j.state, j.params, j.progress.total])).toEqual([['succeeded', { all: true, reason: 'input-version' }, IMAGES]]);

  const library = openLibrary(parseConfig({ LATENT_ATLAS_DATA_DIR: atlas.dataDir }));
  try {
    expect(vectorsInputVersion(library.db, activeModel(library.db)!.id)).toBe(MODEL_INPUT_VERSION);
  } finally {
    library.close();
  }

  await page.goto(`${atlas.baseURL}/`);
  await page.getByRole('button', { name: 'recent jobs' }).click();
  const job = page.getByTestId(`job-${jobs[0]!.id}`);
  await expect(job).toHaveAttribute('data-state', 'succeeded');
  await expect(job).toContainText(`Re-embedding ${IMAGES} images: image preparation changed in this version`);

  // Idle checks go on (every 5 s): none queues it again.
  await page.waitForTimeout(6000);
  expect(await embedJobs()).toHaveLength(1);
  const search = await request.post(`${atlas.baseURL}/api/search`, { data: { imageId: 1, k: 3 } });
  expect((await search.json()).hits).toHaveLength(3);
});
