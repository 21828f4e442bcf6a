/**
 * De-identification on Debian's real DICOM samples (python3-pydicom), re-parsed after the fact by
 * a different parser (dicom-parser, not dcmjs which wrote them): every attribute of the basic
 * profile is checked one by one (removed, emptied, or its UID replaced), private attributes are
 * gone at every depth, and the pixels and the attributes the app reads are exactly as they were.
 */
import dicomParser from 'dicom-parser';
import { describe, expect, it } from 'vitest';
import { isAppError } from '../../../lib/errors';
import { decodeDicom } from '../../../lib/images/dicom';
import { BASIC_PROFILE, DEIDENTIFICATION_METHOD, deidentifyDicom, replacementUid } from '../../../lib/images/dicom-deidentify';
import { dicom } from '../../helpers/files';

/** The uncompressed samples the app decodes: little and big endian, explicit and implicit VR, padded. */
const SAMPLES = [
  'CT_small.dcm',
  'MR_small.dcm',
  'MR_small_bigendian.dcm',
  'MR_small_expb.dcm',
  'MR_small_implicit.dcm',
  'MR_small_padded.dcm',
];

/** The attributes the app reads, which must survive unchanged. */
const KEPT = [
  'x00080060',
  'x00180015',
  'x00185101',
  'x00280010',
  'x00280011',
  'x00280100',
  'x00280103',
  'x00280004',
  'x00281050',
  'x00281051',
  'x00281052',
  'x00281053',
];

const parse = (bytes: Uint8Array) => dicomParser.parseDicom(bytes);
const key = (tag: string) => `x${tag.toLowerCase()}`;

/** Every element of a dataset and its sequence items, at any depth, as [tag, element, dataset]. */
function* walk(dataSet: dicomParser.DataSet): Generator<[string, dicomParser.Element, dicomParser.DataSet]> {
  for (const [tag, element] of Object.entries(dataSet.elements)) {
    yield [tag, element, dataSet];
    for (const item of element.items ?? []) if (item.dataSet) yield* walk(item.dataSet);
  }
}

const samples = SAMPLES.map((name) => {
  const original = dicom(name);
  const result = deidentifyDicom(original);
  return { name, original, before: parse(original), after: parse(result.bytes), result };
});

describe('the samples carry what must go (else these tests could not fail)', () => {
  it.each(SAMPLES)('%s names a patient and has attributes to change', (name) => {
    const sample = samples.find((s) => s.name === name)!;
    expect(sample.before.string('x00100010')?.trim()).toBeTruthy();
    expect(sample.result.changed.length).toBeGreaterThan(5);
  });
  it('CT_small.dcm carries private attributes, an institution and dates', () => {
    const ct = samples[0]!.before;
    expect([...walk(ct)].some(([tag]) => parseInt(tag.slice(1, 5), 16) % 2 === 1)).toBe(true);
    expect(ct.string('x00080080')).toBeTruthy();
    expect(ct.string('x00080020')).toBeTruthy();
  });
});

describe.each(BASIC_PROFILE.map((a) => [`${a.keyword} (${a.tag}): ${a.action}`, a] as const))('%s', (_title, attribute) => {
  it.each(SAMPLES)('in %s', (name) => {
    const { before, after } = samples.find((s) => s.name === name)!;
    const tag = key(attribute.tag);
    const found = [...walk(after)].filter(([t]) => t === tag);
    if (attribute.action === 'remove') {
      expect(found).toEqual([]);
    } else if (attribute.action === 'empty') {
      if (before.elements[tag]) expect(after.elements[tag]?.length).toBe(0);
      for (const [, element] of found) expect(element.length).toBe(0);
    } else {
      const old = [...walk(before)].filter(([t]) => t === tag).map(([, , ds]) => ds.string(tag)!);
      const now = found.map(([, , ds]) => ds.string(tag)!);
      expect(now.length).toBe(old.length);
      now.forEach((uid, i) => {
        expect(uid).toBe(replacementUid(old[i]!));
        expect(uid).not.toBe(old[i]);
        expect(uid).toMatch(/^2\.25\.\d+$/);
        expect(uid.length).toBeLessThanOrEqual(64);
      });
    }
  });
});

describe.each(SAMPLES)('%s after de-identification', (name) => {
  const { original, before, after, result } = samples.find((s) => s.name === name)!;
  it('has no private attribute, curve or overlay comment at any depth', () => {
    for (const [tag] of walk(after)) {
      const group = parseInt(tag.slice(1, 5), 16);
      expect(group % 2, tag).toBe(0);
      expect(tag.startsWith('x50'), tag).toBe(false);
    }
  });
  it('says it was de-identified, and how (PS3.15 E.1.1)', () => {
    expect(after.string('x00120062')).toBe('YES');
    expect(after.string('x00120063')).toBe(DEIDENTIFICATION_METHOD);
    expect(after.string('x00020003')).toBe(after.string('x00080018'));
  });
  it('keeps the pixel data byte for byte and every attribute the app reads', () => {
    const pixels = (ds: dicomParser.DataSet, bytes: Uint8Array) => {
      const element = ds.elements.x7fe00010!;
      return Buffer.from(bytes.subarray(element.dataOffset, element.dataOffset + element.length));
    };
    expect(pixels(after, result.bytes).equals(pixels(before, original))).toBe(true);
    for (const tag of KEPT) expect(after.string(tag) ?? null, tag).toBe(before.string(tag) ?? null);
    const a = decodeDicom(original);
    const b = decodeDicom(result.bytes);
    expect([b.width, b.height]).toEqual([a.width, a.height]);
    expect(Buffer.from(b.pixels).equals(Buffer.from(a.pixels))).toBe(true);
    expect(b.metadata.patientIdentityRemoved).toBe('YES');
  });
  it('no longer contains the patient name anywhere in its bytes', () => {
    const patient = before.string('x00100010')!.trim();
    expect(Buffer.from(original).includes(patient)).toBe(true);
    expect(Buffer.from(result.bytes).includes(patient)).toBe(false);
  });
  it('is the same bytes every time (imported twice, still one image)', () => {
    expect(Buffer.from(deidentifyDicom(original).bytes).equals(Buffer.from(result.bytes))).toBe(true);
  });
});

it('refuses what it cannot read instead of storing it as it is', () => {
  const truncated = dicom('CT_small.dcm').subarray(0, 200);
  let caught: unknown;
  try {
    deidentifyDicom(truncated);
  } catch (error) {
    caught = error;
  }
  expect(isAppError(caught, 'invalid_input')).toBe(true);
});
