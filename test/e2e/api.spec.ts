/**
 * The API on its own: typed errors with the right status, limits enforced while the body streams,
 * and — while the worker trains a model — health and search keep answering and the job's
 * progress is visible (and cancellable) from the API.
 */
import { readFile } from 'node:fs/promises';
import { expect, test, type APIRequestContext } from '@playwright/test';
import { axeViolations } from './audit';
import { type Atlas, keepLogOnFailure, startAtlas } from './atlas';

const FLOWERS = 'data/samples/flowers';
let atlas: Atlas;

test.describe.configure({ mode: 'serial' });
test.beforeAll(async () => {
  atlas = await startAtlas({ LATENT_ATLAS_MAX_UPLOAD_MB: '1' });
});
// eslint-disable-next-line no-empty-pattern -- Playwright reads the fixtures from this pattern; none are needed
test.afterEach(async ({}, testInfo) => keepLogOnFailure(atlas, testInfo));
test.afterAll(async () => atlas.stop());

interface JobJson {
  state: string;
  progress: { done?: number; total?: number; phase?: string; loss?: number };
}

async function waitJob(request: APIRequestContext, id: number, until: (job: JobJson) => boolean, ms = 180_000): Promise<JobJson> {
  const deadline = Date.now() + ms;
  for (;;) {
    const job = (await (await request.get(`${atlas.baseURL}/api/jobs/${id}`)).json()) as JobJson;
    if (until(job)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${job.state}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('errors are typed JSON with the right status', async ({ request }) => {
  const search = await request.post(`${atlas.baseURL}/api/search`, { data: { imageId: 1, k: 0 } });
  expect(search.status()).toBe(400);
  expect((await search.json()).error.code).toBe('invalid_input');
  for (const path of ['/api/images/99999', '/api/images/abc', '/api/images/-1', '/api/jobs/424242', '/api/clusters/77']) {
    const response = await request.get(`${atlas.baseURL}${path}`);
    expect(response.status(), path).toBe(404);
    expect((await response.json()).error.code).toBe('not_found');
  }
  const notMultipart = await request.post(`${atlas.baseURL}/api/images`, { data: 'hello', headers: { 'Content-Type': 'text/plain' } });
  expect(notMultipart.status()).toBe(400);
  const badJob = await request.post(`${atlas.baseURL}/api/clusters`, { data: { k: 1.5 } });
  expect(badJob.status()).toBe(400);
  expect((await badJob.json()).error.message).toMatch(/k/);
});

test('an upload over the limit is refused with 413 and nothing is stored', async ({ request }) => {
  const big = Buffer.alloc(1_500_000, 7);
  const response = await request.post(`${atlas.baseURL}/api/images`, {
    multipart: { file: { name: 'big.jpg', mimeType: 'image/jpeg', buffer: big } },
  });
  expect(response.status()).toBe(413);
  expect((await response.json()).error.code).toBe('too_large');
  expect((await (await request.get(`${atlas.baseURL}/api/images`)).json()).total).toBe(0);
});

test('health and search answer while a training job runs; progress and cancel work through the API', async ({ request }) => {
  const files = [
    'daisy/14569895116_32f0dcb0f9.jpg',
    'roses/13264214185_d6aa79b3bd.jpg',
    'tulips/13903937027_44b9f2f5b8.jpg',
    'dandelion/1241011700_261ae180ca.jpg',
  ];
  for (const file of files) {
    const response = await request.post(`${atlas.baseURL}/api/images`, {
      multipart: { file: { name: file, mimeType: 'image/jpeg', buffer: await readFile(`${FLOWERS}/${file}`) } },
    });
    expect(response.status()).toBe(200);
    expect((await response.json()).results[0].status).toBe('added');
  }
  const spec = { arch: 'conv', inputShape: [32, 32, 3], latentSize: 8, filters: [8, 16] };
  const first = (await (await request.post(`${atlas.baseURL}/api/models`, { data: { spec, epochs: 2 } })).json()).job;
  expect((await waitJob(request, first.id, (j) => j.state !== 'queued' && j.state !== 'running')).state).toBe('succeeded');

  // A long training: the worker is busy for minutes.
  const long = (
    await (
      await request.post(`${atlas.baseURL}/api/models`, {
        data: { spec: { ...spec, inputShape: [96, 96, 3], filters: [32, 64] }, epochs: 400, activate: false },
      })
    ).json()
  ).job;
  const running = await waitJob(request, long.id, (j) => j.state === 'running' && j.progress.done !== undefined, 60_000);
  for (let i = 0; i < 10; i++) {
    const health = await request.get(`${atlas.baseURL}/api/health`);
    expect(health.status()).toBe(200);
    const search = await request.post(`${atlas.baseURL}/api/search`, { data: { imageId: 1, k: 3 } });
    expect(search.status()).toBe(200);
    expect((await search.json()).hits).toHaveLength(3);
  }
  const later = await waitJob(request, long.id, (j) => (j.progress.done ?? 0) > (running.progress.done ?? 0), 60_000);
  expect(later.progress.phase).toBe('train');
  expect(later.progress.total).toBeGreaterThan(later.progress.done!);
  expect(typeof later.progress.loss).toBe('number');

  const cancel = await request.post(`${atlas.baseURL}/api/jobs/${long.id}/cancel`);
  expect(cancel.status()).toBe(200);
  const stopped = await waitJob(request, long.id, (j) => j.state !== 'running', 20_000);
  expect(stopped.state).toBe('cancelled');
  const models = (await (await request.get(`${atlas.baseURL}/api/models`)).json()).models;
  expect(models).toHaveLength(1);
});

test('bound beyond loopback, the app demands its token: 401 without it, a sign-in form, a throttle', async ({ request, page }) => {
  const token = 'e2e-token-0123456789abcdef';
  const remote = await startAtlas({ LATENT_ATLAS_HOST: '0.0.0.0', LATENT_ATLAS_TOKEN: token });
  const form = (fields: Record<string, string>, client: string) =>
    request.post(`${remote.baseURL}/api/session`, { form: fields, headers: { 'X-Forwarded-For': client }, maxRedirects: 0 });
  try {
    const bare = await request.get(`${remote.baseURL}/api/health`);
    expect(bare.status()).toBe(401);
    expect((await bare.json()).error.code).toBe('unauthorized');
    // A page without the token: 401 and the sign-in form (a password field posting to /api/session), never the app.
    const gate = await request.get(`${remote.baseURL}/library?x=1`);
    expect(gate.status()).toBe(401);
    const html = await gate.text();
    expect(html).toContain('type="password"');
    expect(html).toContain('action="/api/session"');
    expect(html).toContain('name="next" value="/library?x=1"');
    expect(html).not.toContain('nav-library');
    const wrong = await request.get(`${remote.baseURL}/api/health`, { headers: { Authorization: 'Bearer e2e-token-0123456789abcdeX' } });
    expect(wrong.status()).toBe(401);
    const right = await request.get(`${remote.baseURL}/api/health`, { headers: { Authorization: `Bearer ${token}` } });
    expect(right.status()).toBe(200);
    // The token is never taken from a URL.
    expect((await request.get(`${remote.baseURL}/api/session?token=${token}`)).status()).toBe(405);
    expect((await request.get(`${remote.baseURL}/api/health`)).status()).toBe(401);

    // Wrong tokens: three free tries, then the client must wait (429, Retry-After) and even the right token waits.
    for (let i = 0; i < 3; i++) {
      const miss = await form({ token: `wrong-${i}`, next: '/library' }, '203.0.113.7');
      expect(miss.status()).toBe(401);
      expect(await miss.text()).toContain('That token is not right');
    }
    const fourth = await form({ token: 'wrong-3', next: '/library' }, '203.0.113.7');
    expect(fourth.status()).toBe(401);
    expect(await fourth.text()).toContain('Wait 1 s');
    const blocked = await form({ token, next: '/library' }, '203.0.113.7');
    expect(blocked.status()).toBe(429);
    expect(blocked.headers()['retry-after']).toBe('1');
    expect(blocked.headers()['set-cookie']).toBeUndefined();
    // The client is the socket's address: a made-up X-Forwarded-For does not escape the wait.
    expect((await form({ token, next: '/library' }, '198.51.100.2')).status()).toBe(429);

    // After the wait the right token signs in: 303 back to the page asked for, an HttpOnly SameSite=Strict cookie.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const signedIn = await form({ token, next: '/library' }, '203.0.113.7');
    expect(signedIn.status()).toBe(303);
    expect(signedIn.headers()['location']).toBe('/library');
    const cookie = signedIn.headers()['set-cookie']!;
    expect(cookie).toMatch(/^latent_atlas_token=/);
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    expect(cookie).toContain('Path=/');
    expect((await form({ token, next: '//evil.example/' }, '198.51.100.2')).headers()['location']).toBe('/');
    const opened = await request.get(`${remote.baseURL}/library`);
    expect(opened.status()).toBe(200);
    expect(await opened.text()).toContain('nav-library');
    expect((await request.get(`${remote.baseURL}/api/health`)).status()).toBe(200);

    // In the browser: the form passes the WCAG 2 A/AA audit, and typing the token then Enter opens the page asked for.
    await page.goto(`${remote.baseURL}/clusters`);
    await expect(page.getByTestId('sign-in-token')).toBeFocused();
    expect(await axeViolations(page)).toEqual([]);
    await page.keyboard.type(token);
    await page.keyboard.press('Enter');
    await expect(page).toHaveURL(`${remote.baseURL}/clusters`);
    await expect(page.getByTestId('nav-clusters')).toBeVisible();
    expect(page.url()).not.toContain(token);
  } finally {
    await remote.stop();
  }
});
