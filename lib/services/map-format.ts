/**
 * The compact wire form of the latent map, for the browser: a million points as one binary body
 * of typed arrays (20 bytes a point) instead of a JSON array of objects (about 90). Pure — no
 * Node imports — so the page decodes with the same module the server encodes with.
 *
 * Layout (little-endian): "LAM1" · uint32 header length · header JSON (UTF-8, space-padded to a
 * multiple of 4) · ids Uint32[n] · xy Float32[2n] · cluster Int32[n] (-1: none) · label Int32[n]
 * (index into header.labels; -1: none).
 */
import type { MapColumns } from '../store/maps-repo';

export type { MapColumns };

export interface MapHeader {
  method: 'pca' | 'umap';
  /** The map covers fewer images than hold vectors (compute it again). */
  stale: boolean;
  count: number;
  /** Label names; a point's label is an index into this list. */
  labels: string[];
}

export const MAP_CONTENT_TYPE = 'application/vnd.latent-atlas.map';
const MAGIC = 0x314d414c; // "LAM1" read as a little-endian uint32

/** The map as one binary body. */
export function encodeMap(columns: MapColumns, header: Omit<MapHeader, 'count' | 'labels'>): Uint8Array {
  const n = columns.ids.length;
  const json = new TextEncoder().encode(JSON.stringify({ ...header, count: n, labels: columns.labels }));
  const padded = Math.ceil(json.length / 4) * 4;
  const start = 8 + padded;
  const out = new Uint8Array(start + n * 20);
  const view = new DataView(out.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, padded, true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, start);
  const put = (array: Uint32Array | Float32Array | Int32Array, at: number) =>
    out.set(new Uint8Array(array.buffer, array.byteOffset, array.byteLength), at);
  put(columns.ids, start);
  put(columns.xy, start + n * 4);
  put(columns.cluster, start + n * 12);
  put(columns.label, start + n * 16);
  return out;
}

/** The header and typed-array views of a body made by `encodeMap`. */
export function decodeMap(body: ArrayBuffer): { header: MapHeader } & MapColumns {
  const view = new DataView(body);
  if (body.byteLength < 8 || view.getUint32(0, true) !== MAGIC) throw new Error('not a Latent Atlas map');
  const length = view.getUint32(4, true);
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(body, 8, length))) as MapHeader;
  const n = header.count;
  const start = 8 + length;
  if (body.byteLength !== start + n * 20) throw new Error(`a map of ${n} points must have ${start + n * 20} bytes; got ${body.byteLength}`);
  return {
    header,
    ids: new Uint32Array(body, start, n),
    xy: new Float32Array(body, start + n * 4, 2 * n),
    cluster: new Int32Array(body, start + n * 12, n),
    label: new Int32Array(body, start + n * 16, n),
    labels: header.labels,
  };
}
