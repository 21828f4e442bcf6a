/**
 * The pure half of the WebGL map (no DOM, no WebGL), so it is unit-tested: the view (which part of
 * the data fills the canvas: a centre and a scale, panned and zoomed around a pixel), a uniform
 * grid over the points for the nearest point under the pointer (a million points: the grid is
 * built in one counting pass and a hover reads a few cells), and each point's colour by cluster or
 * by label as bytes for the GPU.
 */

/** Which part of the data plane fills the canvas: data point `(cx, cy)` is drawn at its centre. */
export interface View {
  cx: number;
  cy: number;
  /** Canvas pixels per data unit. */
  scale: number;
}

export interface Size {
  width: number;
  height: number;
}

/** The view that shows every point with a margin of 5% (a single point or a line still gets a view). */
export function fitView(xy: Float32Array, size: Size): View {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (let i = 0; i < xy.length; i += 2) {
    const x = xy[i]!;
    const y = xy[i + 1]!;
    if (x < minX) minX = x;
    if (x > maxX) maxX = x;
    if (y < minY) minY = y;
    if (y > maxY) maxY = y;
  }
  if (!Number.isFinite(minX)) return { cx: 0, cy: 0, scale: 1 };
  const spanX = Math.max(maxX - minX, 1e-9);
  const spanY = Math.max(maxY - minY, 1e-9);
  return { cx: (minX + maxX) / 2, cy: (minY + maxY) / 2, scale: 0.9 * Math.min(size.width / spanX, size.height / spanY) };
}

/** Canvas pixel (origin top left, y down) of a data point. */
export function toPixel(view: View, size: Size, x: number, y: number): [number, number] {
  return [size.width / 2 + (x - view.cx) * view.scale, size.height / 2 - (y - view.cy) * view.scale];
}

/** Data point under a canvas pixel. */
export function toData(view: View, size: Size, px: number, py: number): [number, number] {
  return [view.cx + (px - size.width / 2) / view.scale, view.cy - (py - size.height / 2) / view.scale];
}

/** The view zoomed by `factor` around a canvas pixel: the data point under it stays under it. */
export function zoomAt(view: View, size: Size, px: number, py: number, factor: number): View {
  const [x, y] = toData(view, size, px, py);
  const scale = view.scale * factor;
  return { cx: x - (px - size.width / 2) / scale, cy: y + (py - size.height / 2) / scale, scale };
}

/** The view moved by a drag of (dx, dy) pixels. */
export function panBy(view: View, dx: number, dy: number): View {
  return { cx: view.cx - dx / view.scale, cy: view.cy + dy / view.scale, scale: view.scale };
}

/** Points bucketed by a uniform grid over their bounds (about 4 a cell), for nearest-point queries. */
export interface PointGrid {
  xy: Float32Array;
  cells: number;
  minX: number;
  minY: number;
  cellSize: number;
  /** Points of cell c are order[start[c]] … order[start[c + 1] - 1]. */
  start: Int32Array;
  order: Int32Array;
}

/** Builds the grid in two counting passes (no per-point objects). */
export function buildGrid(xy: Float32Array): PointGrid {
  const n = xy.length / 2;
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (let i = 0; i < xy.length; i += 2) {
    minX = Math.min(minX, xy[i]!);
    maxX = Math.max(maxX, xy[i]!);
    minY = Math.min(minY, xy[i + 1]!);
    maxY = Math.max(maxY, xy[i + 1]!);
  }
  if (n === 0) return { xy, cells: 1, minX: 0, minY: 0, cellSize: 1, start: new Int32Array(2), order: new Int32Array(0) };
  const cells = Math.max(1, Math.ceil(Math.sqrt(n / 4)));
  const cellSize = Math.max(maxX - minX, maxY - minY, 1e-9) / cells;
  const cellOf = (i: number) => {
    const cx = Math.min(cells - 1, Math.floor((xy[2 * i]! - minX) / cellSize));
    const cy = Math.min(cells - 1, Math.floor((xy[2 * i + 1]! - minY) / cellSize));
    return cy * cells + cx;
  };
  const start = new Int32Array(cells * cells + 1);
  for (let i = 0; i < n; i++) start[cellOf(i) + 1]!++;
  for (let c = 0; c < cells * cells; c++) start[c + 1]! += start[c]!;
  const fill = start.slice(0, cells * cells);
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[fill[cellOf(i)]!++] = i;
  return { xy, cells, minX, minY, cellSize, start, order };
}

/** Index of the point nearest to data point (x, y) within `radius` data units; -1 when none. */
export function nearestPoint(grid: PointGrid, x: number, y: number, radius: number): number {
  const { xy, cells, minX, minY, cellSize, start, order } = grid;
  const clampCell = (v: number) => Math.max(0, Math.min(cells - 1, Math.floor(v)));
  const x0 = clampCell((x - radius - minX) / cellSize);
  const x1 = clampCell((x + radius - minX) / cellSize);
  const y0 = clampCell((y - radius - minY) / cellSize);
  const y1 = clampCell((y + radius - minY) / cellSize);
  let best = -1;
  let bestDistance = radius * radius;
  for (let cy = y0; cy <= y1; cy++)
    for (let cx = x0; cx <= x1; cx++) {
      const cell = cy * cells + cx;
      for (let j = start[cell]!; j < start[cell + 1]!; j++) {
        const i = order[j]!;
        const d = (xy[2 * i]! - x) ** 2 + (xy[2 * i + 1]! - y) ** 2;
        if (d <= bestDistance) {
          bestDistance = d;
          best = i;
        }
      }
    }
  return best;
}

/** The categorical palette (Tableau 10); group i takes colour i mod 10. */
export const PALETTE = Object.freeze([
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#76b7b2',
  '#59a14f',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
  '#bab0ac',
]);
const rgb = (hex: string) => [1, 3, 5].map((at) => parseInt(hex.slice(at, at + 2), 16));
const PALETTE_RGB = PALETTE.map(rgb);
/** Points without a cluster or a label. */
const NONE_RGB = [140, 140, 140];

/** A legend entry: what a colour stands for and how many points carry it. */
export interface ColorGroup {
  name: string;
  color: string;
  count: number;
}

/**
 * Each point's colour as RGB bytes (3 a point, for a normalized GPU attribute) and the legend:
 * by cluster (`-1`: none) or by label (an index into `labels`, `-1`: none).
 */
export function colorPoints(
  map: { cluster: Int32Array; label: Int32Array; labels: readonly string[] },
  by: 'cluster' | 'label',
): { rgb: Uint8Array; groups: ColorGroup[] } {
  const keys = by === 'cluster' ? map.cluster : map.label;
  const n = keys.length;
  const rgbOut = new Uint8Array(3 * n);
  const counts = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const key = keys[i]!;
    counts.set(key, (counts.get(key) ?? 0) + 1);
    const color = key < 0 ? NONE_RGB : PALETTE_RGB[key % PALETTE_RGB.length]!;
    rgbOut[3 * i] = color[0]!;
    rgbOut[3 * i + 1] = color[1]!;
    rgbOut[3 * i + 2] = color[2]!;
  }
  const name = (key: number) =>
    key < 0 ? (by === 'cluster' ? 'unclustered' : 'no label') : by === 'cluster' ? `cluster ${key}` : map.labels[key]!;
  const groups = [...counts.entries()]
    .sort(([a], [b]) => a - b)
    .map(([key, count]) => ({ name: name(key), color: key < 0 ? '#8c8c8c' : PALETTE[key % PALETTE.length]!, count }));
  return { rgb: rgbOut, groups };
}
