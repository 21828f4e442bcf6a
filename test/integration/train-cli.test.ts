/**
 * The training CLI end to end, as a user runs it: each variant of the family trains from the
 * command line on real images, prints its result as JSON and leaves a model directory that
 * loads and encodes.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFashionMnist } from '../../lib/data/fashion-mnist';
import { headImages } from '../../lib/data/image-set';
import { embedImages, encodeImages } from '../../lib/models/inference';
import { CENTERS, HEAD_MEAN } from '../../lib/models/autoencoder';
import { loadModel } from '../../lib/models/model-io';
import { startWasm } from '../helpers/engine';
import { SHARED, xray } from '../helpers/files';

const run = promisify(execFile);
const TSX = join(process.cwd(), 'node_modules', '.bin', 'tsx');
let dir: string;

beforeAll(async () => {
  await startWasm();
  dir = await mkdtemp(join(tmpdir(), 'latent-atlas-cli-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Runs the CLI; `result` is the JSON line it prints last, `log` what it wrote to stderr. */
async function trainWithLog(args: string[]): Promise<{ result: Record<string, unknown>; log: string }> {
  const { stdout, stderr } = await run(TSX, ['scripts/train.ts', ...args], {
    env: { ...process.env, LATENT_ATLAS_WORKERS: '2', LATENT_ATLAS_DATA_DIR: join(dir, 'library') },
    timeout: 120_000,
  });
  return { result: JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>, log: stderr };
}

const train = async (args: string[]) => (await trainWithLog(args)).result;

const variants: Record<string, string[]> = {
  'reference CAE, data-parallel on two threads': ['--preset', 'reference-cae', '--limit', '1200'],
  'dense, BCE': ['--arch', 'dense', '--hidden', '64', '--latent', '16', '--loss', 'bce'],
  'conv, bilinear': ['--arch', 'conv', '--filters', '8,16', '--upsampling', 'bilinear', '--latent', '16'],
  sparse: ['--arch', 'dense', '--sparse', '0.05,1', '--latent', '32'],
  denoising: ['--arch', 'conv', '--filters', '8,16', '--noise', '0.3', '--latent', '16'],
  stacked: ['--arch', 'stacked', '--hidden', '64', '--latent', '16'],
};

describe('npm run train', () => {
  for (const [name, args] of Object.entries(variants)) {
    it(name, async () => {
      const out = join(dir, name.replace(/\W+/g, '-'));
      const result = await train(['--data', 'fashion-mnist', '--epochs', '1', '--limit', '600', ...args, '--out', out]);
      expect(result.model).toBe(out);
      expect(result.testMse).toBeGreaterThan(0);
      expect(result.testMse).toBeLessThan(0.2);
      const { model, manifest } = await loadModel(out);
      expect(manifest.formatVersion).toBe(1);
      const latents = encodeImages(model, headImages(await loadFashionMnist('test', { limit: 4 }), 4));
      expect(latents.every(Number.isFinite)).toBe(true);
      model.dispose();
    });
  }

  it('trains on a folder of real X-rays, skipping files that are not images', async () => {
    // 40 real X-rays next to a CSV and a PNG cut short after its signature: 40 used, 2 skipped by name.
    const data = join(dir, 'xray-data');
    await mkdir(data);
    const xrays = (await readdir(join(SHARED, 'chest-xray'))).filter((f) => f.endsWith('.png')).slice(0, 40);
    for (const file of xrays) await copyFile(join(SHARED, 'chest-xray', file), join(data, file));
    await writeFile(join(data, 'labels.csv'), 'file,label\nIM-0133-0001.png,normal\n');
    await writeFile(join(data, 'broken.png'), xray().subarray(0, 64));
    const { result, log } = await trainWithLog([
      '--data',
      data,
      '--size',
      '32',
      '--arch',
      'conv',
      '--filters',
      '8,16',
      '--epochs',
      '1',
      '--out',
      join(dir, 'xray'),
    ]);
    expect(result.images).toBe(40);
    expect(result.skipped).toBe(2);
    expect(log).toMatch(/^skipped broken\.png: /m);
    expect(log).toMatch(/^skipped labels\.csv: /m);
  });

  it('gives a trained model a clustering head: --init <dir> --epochs 0 --cluster-finetune k', async () => {
    const base = join(dir, 'conv-base');
    const common = ['--data', 'fashion-mnist', '--limit', '600', '--arch', 'conv', '--filters', '8,16', '--latent', '16'];
    await train([...common, '--epochs', '1', '--out', base]);
    const out = join(dir, 'conv-clusters');
    const result = await train([
      ...common,
      '--epochs',
      '0',
      '--init',
      base,
      '--cluster-finetune',
      '4',
      '--cluster-epochs',
      '1',
      '--out',
      out,
    ]);
    const summary = result.clustering as { steps: number; sizes: number[] };
    expect(summary.steps).toBe(Math.ceil(600 / 256));
    expect(summary.sizes.reduce((a, b) => a + b, 0)).toBe(600);
    const { model, manifest } = await loadModel(out);
    expect(model.spec.clustering).toEqual({ clusters: 4, gamma: 0.02 });
    expect(model.p(CENTERS).shape).toEqual([4, 16]);
    expect((manifest.training as { initFrom: string }).initFrom).toBe('conv-base');
    model.dispose();

    const mismatch = await train([
      ...common,
      '--filters',
      '8,32',
      '--epochs',
      '0',
      '--init',
      base,
      '--cluster-finetune',
      '4',
      '--out',
      out,
    ]).catch((e: { stderr: string }) => e);
    expect((mismatch as { stderr: string }).stderr).toMatch(/different architecture/);
  });

  it('fits a search head by default; --search-head off keeps raw codes; --init with --epochs 0 fits only the head', async () => {
    const common = ['--data', 'fashion-mnist', '--limit', '600', '--arch', 'conv', '--filters', '8,16', '--latent', '16'];
    const images = headImages(await loadFashionMnist('test', { limit: 20 }), 20);
    const raw = join(dir, 'raw-codes');
    await train([...common, '--epochs', '1', '--search-head', 'off', '--out', raw]);
    const { model: plain } = await loadModel(raw);
    expect(plain.spec.embedding).toBeUndefined();
    expect(embedImages(plain, images)).toEqual(encodeImages(plain, images));

    const headed = join(dir, 'head-only');
    const result = await train([...common, '--epochs', '0', '--init', raw, '--out', headed]);
    expect(result.epochs).toBe(0);
    const { model } = await loadModel(headed);
    expect(model.spec.embedding).toEqual({ whiten: 0.5, mirror: false });
    // Same encoder, so the same codes; the stored vectors are those codes through the fitted head.
    expect(encodeImages(model, images)).toEqual(encodeImages(plain, images));
    const vectors = embedImages(model, images);
    for (let i = 0; i < images.count; i++) expect(Math.hypot(...vectors.subarray(i * 16, (i + 1) * 16))).toBeCloseTo(1, 5);
    expect(
      model
        .p(HEAD_MEAN)
        .dataSync()
        .some((v) => v !== 0),
    ).toBe(true);
    plain.dispose();
    model.dispose();

    const bad = await train([...common, '--epochs', '1', '--search-head', 'half', '--out', join(dir, 'bad')]).catch(
      (e: { stderr: string }) => e,
    );
    expect((bad as { stderr: string }).stderr).toMatch(/--search-head takes a number from 0 to 1 or 'off'; got 'half'/);
  });

  it('refuses an unknown option with the list of valid ones', async () => {
    const error = await train(['--data', 'fashion-mnist', '--arch', 'conv', '--spec', '{"dropout":0.5}']).catch(
      (e: { stderr: string; code: number }) => e,
    );
    expect((error as { code: number }).code).toBe(1);
    expect((error as { stderr: string }).stderr).toMatch(/unknown option 'dropout' for arch 'conv'; valid options:/);
  });
});
