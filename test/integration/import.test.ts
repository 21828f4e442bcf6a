/**
 * Server-side import on real folders: only under the import roots (never out by `..` or a
 * symbolic link), run as an ordinary ingest job with refused files and their reasons; DICOM is
 * stored de-identified (the downloadable original no longer names the patient) and labelled from
 * its kept tags.
 */
import dicomParser from 'dicom-parser';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, type Config } from '../../lib/config';
import { isAppError, type ErrorCode } from '../../lib/errors';
import { queueImport, runNextJob } from '../../lib/jobs/job-service';
import { imageOrThrow, libraryPage, originalBytes } from '../../lib/services/image-service';
import { resolveImportFolder } from '../../lib/services/import-service';
import type { Library } from '../../lib/services/library';
import { dicom, photo } from '../helpers/files';
import { tempLibrary } from '../helpers/library';

let library: Library;
let dataDir: string;
let base: string;
let root: string;
let config: Readonly<Config>;

beforeAll(async () => {
  ({ library, dataDir } = await tempLibrary());
  base = mkdtempSync(join(tmpdir(), 'latent-atlas-import-'));
  root = join(base, 'root');
  mkdirSync(join(root, 'scans', 'chest'), { recursive: true });
  mkdirSync(join(base, 'outside'));
  writeFileSync(join(base, 'outside', 'secret.jpg'), photo());
  writeFileSync(join(root, 'scans', 'chest', 'ct.dcm'), dicom('CT_small.dcm'));
  writeFileSync(join(root, 'scans', 'mr.dcm'), dicom('MR_small.dcm'));
  writeFileSync(join(root, 'scans', 'photo.jpg'), photo());
  writeFileSync(join(root, 'scans', 'notes.txt'), 'not an image');
  writeFileSync(join(root, 'plain.txt'), 'a file, not a folder');
  symlinkSync(join(base, 'outside'), join(root, 'link-out'));
  symlinkSync(join(root, 'scans'), join(root, 'link-in'));
  config = parseConfig({ LATENT_ATLAS_DATA_DIR: dataDir, LATENT_ATLAS_IMPORT_ROOTS: root });
  library.config = config;
});
afterAll(() => {
  library.close();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(base, { recursive: true, force: true });
});

async function refusal(promise: Promise<unknown>): Promise<{ code: ErrorCode; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (isAppError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('import roots', () => {
  it('are parsed from LATENT_ATLAS_IMPORT_ROOTS: none by default, absolute paths only', () => {
    expect(parseConfig({}).importRoots).toEqual([]);
    expect(parseConfig({ LATENT_ATLAS_IMPORT_ROOTS: `/a:/b/c/` }).importRoots).toEqual(['/a', '/b/c']);
    expect(() => parseConfig({ LATENT_ATLAS_IMPORT_ROOTS: 'relative/path' })).toThrow(/LATENT_ATLAS_IMPORT_ROOTS: must be absolute/);
  });

  it('refuse everything when none is set, saying how to enable import', async () => {
    const off = await refusal(resolveImportFolder(parseConfig({ LATENT_ATLAS_DATA_DIR: dataDir }), root));
    expect(off).toEqual({ code: 'forbidden', message: expect.stringContaining('LATENT_ATLAS_IMPORT_ROOTS') });
  });

  it('admit a folder under a root (absolute, relative, or through a link that stays inside) as its real path', async () => {
    expect(await resolveImportFolder(config, join(root, 'scans'))).toBe(join(root, 'scans'));
    expect(await resolveImportFolder(config, relative(process.cwd(), join(root, 'scans')))).toBe(join(root, 'scans'));
    expect(await resolveImportFolder(config, join(root, 'link-in'))).toBe(join(root, 'scans'));
    expect(await resolveImportFolder(config, root)).toBe(root);
  });

  it('refuse a path that leaves by .. and one that leaves through a symbolic link, without saying where it leads', async () => {
    const dots = await refusal(resolveImportFolder(config, join(root, '..', 'outside')));
    expect(dots.code).toBe('forbidden');
    expect(dots.message).toContain('outside the folders this server may import from');
    const link = await refusal(resolveImportFolder(config, join(root, 'link-out')));
    expect(link.code).toBe('forbidden');
    expect(link.message).toContain('symbolic link');
    expect(link.message).not.toContain(join(base, 'outside'));
    expect((await refusal(resolveImportFolder(config, `${root}/scans/../../outside`))).code).toBe('forbidden');
    expect((await refusal(resolveImportFolder(config, `${root}-sibling`))).code).toBe('forbidden');
  });

  it('answer not_found for a missing folder and invalid_input for a file', async () => {
    expect((await refusal(resolveImportFolder(config, join(root, 'nope')))).code).toBe('not_found');
    expect((await refusal(resolveImportFolder(config, join(root, 'plain.txt')))).code).toBe('invalid_input');
  });

  it('are checked before a job is queued', async () => {
    const queued = await refusal(
      queueImport(library, { folder: join(root, 'link-out'), recursive: true, modality: 'photo', labelFromFolder: false }),
    );
    expect(queued.code).toBe('forbidden');
  });
});

describe('an import job', () => {
  it('ingests the folder, lists refused files with reasons, stores DICOM de-identified and labels it from its tags', async () => {
    const job = await queueImport(library, { folder: join(root, 'scans'), recursive: true, modality: 'xray', labelFromFolder: true });
    expect(job.params.folder).toBe(join(root, 'scans'));
    const done = await runNextJob(library);
    expect(done?.state).toBe('succeeded');
    const result = done!.result as { added: number; duplicates: number; refused: { name: string; reason: string; code: string }[] };
    expect(result.added).toBe(3);
    expect(result.refused).toEqual([{ name: 'notes.txt', code: 'unsupported', reason: expect.stringContaining('accepted formats') }]);
    const images = libraryPage(library, {}).images;
    const ct = images.find((i) => i.originalName === 'chest/ct.dcm')!;
    expect(ct.labels).toEqual(['chest', 'modality: CT']);
    expect(ct.metadata).toMatchObject({ modality: 'CT', patientIdentityRemoved: 'YES' });
    expect(images.find((i) => i.originalName === 'photo.jpg')?.modality).toBe('xray');
    expect(libraryPage(library, { label: 'modality: MR' }).images.map((i) => i.originalName)).toEqual(['mr.dcm']);
    for (const name of ['chest/ct.dcm', 'mr.dcm']) {
      const image = images.find((i) => i.originalName === name)!;
      const { bytes } = await originalBytes(library, image.id);
      const patient = name === 'mr.dcm' ? dicom('MR_small.dcm') : dicom('CT_small.dcm');
      const patientName = dicomParser.parseDicom(patient).string('x00100010')!.trim();
      expect(Buffer.from(patient).includes(patientName)).toBe(true);
      expect(Buffer.from(bytes).includes(patientName)).toBe(false);
      expect(imageOrThrow(library, image.id).metadata.deidentificationMethod).toContain('PS3.15');
    }
  });

  it('imported again adds nothing (the same file de-identifies to the same bytes); not recursive skips sub-folders', async () => {
    await queueImport(library, { folder: join(root, 'scans'), recursive: false, modality: 'photo', labelFromFolder: false });
    const again = await runNextJob(library);
    expect(again?.result).toMatchObject({ added: 0, duplicates: 2 });
  });
});
