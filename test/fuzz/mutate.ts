/**
 * Mutations of image files for the decoder fuzzer (scripts/bench-fuzz.ts, issue 18 item 1): bit
 * flips, byte runs, truncations, splices from another file, duplicated regions, structure-aware
 * chunk/segment/element duplicates, deletions and swaps, and header fields (dimensions, bit
 * depths, counts, lengths) set to extremes. Each case is a pure function of its seed and the
 * corpus, so a failing seed replays exactly (`fuzzCase`) and can be pinned as a unit test.
 */
import { seededRandom } from '../../lib/random';
import { crc32 } from '../helpers/files';

/** A file of the corpus: its bytes and its format (as the app sniffs it). */
export interface SeedFile {
  name: string;
  format: 'jpeg' | 'png' | 'webp' | 'tiff' | 'gif' | 'avif' | 'dicom';
  bytes: Uint8Array;
}

/** A region of a file: a structural unit (chunk, segment, box, element) or a header field. */
interface Span {
  start: number;
  end: number;
}
interface Field extends Span {
  little: boolean;
}

export const MUTATIONS = Object.freeze({
  'bit-flips': 'flip 1–32 bits, half the time within the first KiB (the headers)',
  'byte-run': 'overwrite 1–64 bytes with 0x00, 0xff or noise',
  truncate: 'cut the file short (anywhere, or within its first 512 bytes)',
  splice: 'replace a region with a region of another corpus file',
  duplicate: 'insert a copy of a region (a structural unit when the format has them) after itself',
  chunk: 'delete, duplicate or swap structural units (PNG chunks, JPEG segments, RIFF chunks, ISO boxes, TIFF entries, DICOM elements)',
  'extreme-field': 'set a header field (dimension, bit depth, count, length) to 0, 1, its maximum or a sign boundary',
} as const);
export type MutationName = keyof typeof MUTATIONS;

const be = (b: Uint8Array, i: number, n: number) => {
  let v = 0;
  for (let k = 0; k < n; k++) v = v * 256 + (b[i + k] ?? 0);
  return v;
};
const le = (b: Uint8Array, i: number, n: number) => {
  let v = 0;
  for (let k = n - 1; k >= 0; k--) v = v * 256 + (b[i + k] ?? 0);
  return v;
};
const ascii = (b: Uint8Array, i: number, n: number) => String.fromCharCode(...b.subarray(i, i + n));

/** Structural units and header fields of a file, found with a tolerant parse (a damaged file yields fewer). */
export function structure(file: SeedFile): { units: Span[]; fields: Field[] } {
  const b = file.bytes;
  const units: Span[] = [];
  const fields: Field[] = [];
  const field = (start: number, size: number, little: boolean) => {
    if (start >= 0 && start + size <= b.length) fields.push({ start, end: start + size, little });
  };
  switch (file.format) {
    case 'png':
      for (let i = 8; i + 12 <= b.length && units.length < 10_000;) {
        const length = be(b, i, 4);
        const type = ascii(b, i + 4, 4);
        field(i, 4, false);
        if (type === 'IHDR')
          for (const [o, n] of [
            [8, 4],
            [12, 4],
            [16, 1],
            [17, 1],
            [18, 1],
            [19, 1],
            [20, 1],
          ] as const)
            field(i + o, n, false);
        units.push({ start: i, end: Math.min(b.length, i + 12 + length) });
        i += 12 + length;
      }
      break;
    case 'jpeg':
      for (let i = 2; i + 4 <= b.length && units.length < 10_000;) {
        if (b[i] !== 0xff) break;
        const marker = b[i + 1]!;
        const length = be(b, i + 2, 2);
        field(i + 2, 2, false);
        if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker)) {
          field(i + 4, 1, false); // precision
          field(i + 5, 2, false); // height
          field(i + 7, 2, false); // width
          field(i + 9, 1, false); // components
          for (let c = 0; c < Math.min(4, b[i + 9] ?? 0); c++) field(i + 11 + 3 * c, 1, false); // sampling factors
        }
        if (marker === 0xda) field(i + 4, 1, false); // components in scan
        units.push({ start: i, end: Math.min(b.length, i + 2 + length) });
        if (marker === 0xda) break; // entropy-coded data follows
        i += 2 + length;
      }
      break;
    case 'webp':
      field(4, 4, true);
      for (let i = 12; i + 8 <= b.length && units.length < 10_000;) {
        const type = ascii(b, i, 4);
        const size = le(b, i + 4, 4);
        field(i + 4, 4, true);
        if (type === 'VP8X') {
          field(i + 12, 3, true);
          field(i + 15, 3, true);
        }
        if (type === 'VP8L') field(i + 9, 4, true);
        if (type === 'VP8 ') {
          field(i + 14, 2, true);
          field(i + 16, 2, true);
        }
        if (type === 'ANMF') {
          field(i + 14, 3, true);
          field(i + 17, 3, true);
        }
        units.push({ start: i, end: Math.min(b.length, i + 8 + size + (size & 1)) });
        i += 8 + size + (size & 1);
      }
      break;
    case 'gif': {
      field(6, 2, true);
      field(8, 2, true);
      field(10, 1, true);
      for (let i = 13; i + 10 <= b.length; i++)
        if (b[i] === 0x2c) {
          for (const o of [1, 3, 5, 7]) field(i + o, 2, true);
          field(i + 9, 1, true);
          units.push({ start: i, end: Math.min(b.length, i + 10 + 64) });
          if (units.length > 50) break;
        }
      break;
    }
    case 'tiff': {
      const little = b[0] === 0x49;
      const read = little ? le : be;
      field(4, 4, little);
      const ifd = read(b, 4, 4);
      const count = read(b, ifd, 2);
      field(ifd, 2, little);
      for (let e = 0; e < Math.min(count, 200); e++) {
        const at = ifd + 2 + e * 12;
        if (at + 12 > b.length) break;
        field(at + 2, 2, little); // type
        field(at + 4, 4, little); // count
        field(at + 8, 4, little); // value or offset
        units.push({ start: at, end: at + 12 });
      }
      break;
    }
    case 'avif': {
      const walk = (from: number, to: number, depth: number) => {
        for (let i = from; i + 8 <= to && units.length < 10_000;) {
          const size = be(b, i, 4);
          const type = ascii(b, i + 4, 4);
          field(i, 4, false);
          units.push({ start: i, end: Math.min(to, i + Math.max(8, size)) });
          if (type === 'ispe') {
            field(i + 12, 4, false);
            field(i + 16, 4, false);
          }
          if (type === 'pixi') field(i + 12, 1, false);
          if (depth < 4 && ['meta', 'iprp', 'ipco', 'iinf', 'iloc'].includes(type))
            walk(i + (type === 'meta' || type === 'iinf' ? 12 : 8), Math.min(to, i + size), depth + 1);
          if (size < 8) break;
          i += size;
        }
      };
      walk(0, b.length, 0);
      break;
    }
    case 'dicom':
      for (let i = 132; i + 8 <= b.length && units.length < 10_000;) {
        const group = le(b, i, 2);
        const element = le(b, i + 2, 2);
        const vr = ascii(b, i + 4, 2);
        const explicit = /^[A-Z]{2}$/.test(vr);
        const long = explicit && ['OB', 'OW', 'OF', 'SQ', 'UT', 'UN', 'OD', 'OL', 'UC', 'UR'].includes(vr);
        const lengthAt = explicit ? (long ? i + 8 : i + 6) : i + 4;
        const lengthSize = explicit && !long ? 2 : 4;
        const length = le(b, lengthAt, lengthSize);
        const value = lengthAt + lengthSize;
        field(lengthAt, lengthSize, true);
        if (group === 0x0028 && [0x0002, 0x0010, 0x0011, 0x0100, 0x0101, 0x0102, 0x0103].includes(element)) field(value, 2, true);
        if (group === 0x0028 && element === 0x0008) field(value, Math.min(4, length), true); // number of frames (text)
        units.push({ start: i, end: Math.min(b.length, value + (length === 0xffffffff ? 0 : length)) });
        if (length === 0xffffffff || (group === 0x7fe0 && element === 0x0010)) break; // undefined length or pixel data: stop
        i = value + length;
      }
      break;
  }
  return { units, fields };
}

const EXTREMES = (size: number): number[] => {
  const max = 2 ** (8 * size) - 1;
  return [0, 1, max, max - 1, 2 ** (8 * size - 1), 2 ** (8 * size - 1) - 1, 0xffff & max, 0x4000 & max];
};

function writeField(bytes: Uint8Array, f: Field, value: number): void {
  const size = f.end - f.start;
  for (let k = 0; k < size; k++) {
    const byte = Math.floor(value / 2 ** (8 * k)) & 0xff;
    bytes[f.little ? f.start + k : f.end - 1 - k] = byte;
  }
}

/** One mutation of `file`, chosen and shaped by `random`; `other` is a second corpus file for splices. */
export function mutate(file: SeedFile, other: SeedFile, random: () => number, mutation: MutationName): Uint8Array {
  const src = file.bytes;
  const int = (n: number) => Math.floor(random() * n);
  const { units, fields } = structure(file);
  const unit = () => units[int(units.length)];
  switch (mutation) {
    case 'bit-flips': {
      const out = Uint8Array.from(src);
      const within = random() < 0.5 ? Math.min(out.length, 1024) : out.length;
      for (let n = 1 + int(32); n > 0; n--) out[int(within)]! ^= 1 << int(8);
      return out;
    }
    case 'byte-run': {
      const out = Uint8Array.from(src);
      const start = int(out.length);
      const fillWith = int(3);
      for (let i = start; i < Math.min(out.length, start + 1 + int(64)); i++)
        out[i] = fillWith === 0 ? 0 : fillWith === 1 ? 0xff : int(256);
      return out;
    }
    case 'truncate':
      return src.slice(0, random() < 0.5 ? int(Math.min(src.length, 512)) : int(src.length));
    case 'splice': {
      const out = Uint8Array.from(src);
      const length = 1 + int(Math.min(4096, other.bytes.length));
      const from = int(other.bytes.length - length + 1);
      const at = int(out.length);
      out.set(other.bytes.subarray(from, from + Math.min(length, out.length - at)), at);
      return out;
    }
    case 'duplicate': {
      const u = unit() ?? { start: int(src.length), end: 0 };
      const end = u.end > u.start ? u.end : Math.min(src.length, u.start + 1 + int(256));
      return concat(src.subarray(0, end), src.subarray(u.start, end), src.subarray(end));
    }
    case 'chunk': {
      if (units.length < 1) return mutate(file, other, random, 'duplicate');
      const a = unit()!;
      const op = int(3);
      if (op === 0) return concat(src.subarray(0, a.start), src.subarray(a.end)); // delete
      if (op === 1) {
        const times = 1 + int(random() < 0.1 ? 2000 : 3); // sometimes a unit repeated thousands of times
        return concat(src.subarray(0, a.end), ...Array.from({ length: times }, () => src.subarray(a.start, a.end)), src.subarray(a.end));
      }
      const b = unit()!; // swap two units
      const [first, second] = a.start <= b.start ? [a, b] : [b, a];
      if (first.end > second.start) return concat(src.subarray(0, first.start), src.subarray(first.end));
      return concat(
        src.subarray(0, first.start),
        src.subarray(second.start, second.end),
        src.subarray(first.end, second.start),
        src.subarray(first.start, first.end),
        src.subarray(second.end),
      );
    }
    case 'extreme-field': {
      const out = Uint8Array.from(src);
      const chosen = fields.length ? fields : [{ start: int(Math.min(64, out.length)), end: 0, little: true }];
      for (let n = 1 + int(random() < 0.3 ? 3 : 1); n > 0; n--) {
        const f = chosen[int(chosen.length)]!;
        const field = f.end > f.start ? f : { ...f, end: Math.min(out.length, f.start + 2) };
        const values = EXTREMES(field.end - field.start);
        writeField(out, field, values[int(values.length)]!);
      }
      return out;
    }
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export interface FuzzCase {
  seed: number;
  file: string;
  format: SeedFile['format'];
  /** The mutations applied, in order, joined by '+'. */
  mutation: string;
  bytes: Uint8Array;
}

/** Recomputes every PNG chunk's CRC, so that a mutated field reaches the decoder instead of failing the checksum. */
function fixPngCrcs(bytes: Uint8Array): Uint8Array {
  const out = Uint8Array.from(bytes);
  for (let i = 8; i + 12 <= out.length;) {
    const length = be(out, i, 4);
    if (i + 12 + length > out.length) break;
    const crc = crc32(out.subarray(i + 4, i + 8 + length));
    for (let k = 0; k < 4; k++) out[i + 8 + length + k] = (crc >>> (24 - 8 * k)) & 0xff;
    i += 12 + length;
  }
  return out;
}

/** Case `index` of the run seeded `runSeed`: its own seed, so that it replays alone. */
export function caseSeed(runSeed: number, index: number): number {
  return (Math.imul(runSeed, 0x9e3779b1) + Math.imul(index + 1, 0x85ebca6b)) >>> 0;
}

/**
 * The case of `seed` over `corpus`: which file (a format first, each equally often, then a file of
 * it), which mutations (one to three stacked), and the bytes.
 */
export function fuzzCase(corpus: readonly SeedFile[], seed: number): FuzzCase {
  const random = seededRandom(seed);
  const names = Object.keys(MUTATIONS) as MutationName[];
  const formats = [...new Set(corpus.map((f) => f.format))];
  const format = formats[Math.floor(random() * formats.length)]!;
  const ofFormat = corpus.filter((f) => f.format === format);
  const file = ofFormat[Math.floor(random() * ofFormat.length)]!;
  const other = corpus[Math.floor(random() * corpus.length)]!;
  const mutations: MutationName[] = [];
  let bytes = file.bytes;
  for (let n = 1 + (random() < 0.25 ? Math.floor(random() * 3) : 0); n > 0; n--) {
    const mutation = names[Math.floor(random() * names.length)]!;
    mutations.push(mutation);
    bytes = mutate({ ...file, bytes }, other, random, mutation);
  }
  if (file.format === 'png' && random() < 0.8) bytes = fixPngCrcs(bytes);
  return { seed, file: file.name, format: file.format, mutation: mutations.join('+'), bytes };
}
