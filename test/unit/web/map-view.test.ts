import { describe, expect, it } from 'vitest';
import { buildGrid, colorPoints, fitView, nearestPoint, panBy, toData, toPixel, zoomAt } from '@/app/_components/map-view';

const size = { width: 400, height: 200 };

describe('map view', () => {
  it('fits every point inside the canvas and maps pixels back to the same data point', () => {
    const xy = Float32Array.from([-10, 0, 10, 0, 0, 5, 0, -5]);
    const view = fitView(xy, size);
    for (let i = 0; i < xy.length; i += 2) {
      const [px, py] = toPixel(view, size, xy[i]!, xy[i + 1]!);
      expect(px).toBeGreaterThanOrEqual(0);
      expect(px).toBeLessThanOrEqual(size.width);
      expect(py).toBeGreaterThanOrEqual(0);
      expect(py).toBeLessThanOrEqual(size.height);
      const [x, y] = toData(view, size, px, py);
      expect(x).toBeCloseTo(xy[i]!, 4);
      expect(y).toBeCloseTo(xy[i + 1]!, 4);
    }
    // Data y grows upwards, pixel y downwards.
    expect(toPixel(view, size, 0, 5)[1]).toBeLessThan(toPixel(view, size, 0, -5)[1]);
  });

  it('zooms around the pointer (the point under it stays) and pans by the drag', () => {
    const view = { cx: 1, cy: 2, scale: 10 };
    const before = toData(view, size, 300, 50);
    const zoomed = zoomAt(view, size, 300, 50, 3);
    expect(zoomed.scale).toBe(30);
    const after = toData(zoomed, size, 300, 50);
    expect(after[0]).toBeCloseTo(before[0], 6);
    expect(after[1]).toBeCloseTo(before[1], 6);
    const panned = panBy(view, 20, 10);
    expect(toPixel(panned, size, 1, 2)).toEqual([220, 110]);
  });
});

describe('point grid', () => {
  it('finds the same nearest point as a scan over every point, and none beyond the radius', () => {
    let s = 7;
    const random = () => (s = (s * 16807) % 2147483647) / 2147483647;
    const n = 5000;
    const xy = Float32Array.from({ length: 2 * n }, () => random() * 100 - 50);
    const grid = buildGrid(xy);
    expect(grid.order.length).toBe(n);
    for (let q = 0; q < 200; q++) {
      const x = random() * 110 - 55;
      const y = random() * 110 - 55;
      let best = -1;
      let bestD = 2 * 2;
      for (let i = 0; i < n; i++) {
        const d = (xy[2 * i]! - x) ** 2 + (xy[2 * i + 1]! - y) ** 2;
        if (d <= bestD) [best, bestD] = [i, d];
      }
      const found = nearestPoint(grid, x, y, 2);
      if (best < 0) expect(found).toBe(-1);
      else expect((xy[2 * found]! - x) ** 2 + (xy[2 * found + 1]! - y) ** 2).toBeCloseTo(bestD, 5);
    }
  });

  it('answers on an empty map and on points that all coincide', () => {
    expect(nearestPoint(buildGrid(new Float32Array(0)), 0, 0, 1)).toBe(-1);
    const same = buildGrid(Float32Array.from([3, 3, 3, 3, 3, 3]));
    expect(nearestPoint(same, 3, 3, 0.1)).toBeGreaterThanOrEqual(0);
    expect(nearestPoint(same, 5, 5, 0.1)).toBe(-1);
  });
});

describe('point colours', () => {
  const map = { cluster: Int32Array.from([0, 1, 1, -1, 11]), label: Int32Array.from([1, -1, 0, 0, 1]), labels: ['cat', 'dog'] };

  it('colours by cluster with a legend that counts each cluster (none in grey, colours cycle past 10)', () => {
    const { rgb, groups } = colorPoints(map, 'cluster');
    expect(groups.map((g) => [g.name, g.count])).toEqual([
      ['unclustered', 1],
      ['cluster 0', 1],
      ['cluster 1', 2],
      ['cluster 11', 1],
    ]);
    expect([...rgb.subarray(0, 3)]).toEqual([0x4e, 0x79, 0xa7]);
    expect([...rgb.subarray(9, 12)]).toEqual([140, 140, 140]);
    expect([...rgb.subarray(12, 15)]).toEqual([...rgb.subarray(3, 6)]);
  });

  it('colours by label name', () => {
    const { groups } = colorPoints(map, 'label');
    expect(groups.map((g) => [g.name, g.count])).toEqual([
      ['no label', 1],
      ['cat', 2],
      ['dog', 2],
    ]);
  });
});
