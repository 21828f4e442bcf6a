'use client';
/**
 * Charts (chart.js through react-chartjs-2; zoom and pan by chartjs-plugin-zoom): training loss
 * curves, the silhouette/elbow chart of automatic k, a latent vector as bars, and the
 * interactive 2-D map of the latent space.
 */
import {
  BarElement,
  CategoryScale,
  Chart as ChartJS,
  Legend,
  LinearScale,
  LineElement,
  PointElement,
  Tooltip,
  type ChartEvent,
  type ActiveElement,
} from 'chart.js';
import { useEffect, useMemo, useRef, useState } from 'react';
import type { LatentMap } from '@/lib/services/map-service';
import { Bar, Line, Scatter } from 'react-chartjs-2';

ChartJS.register(CategoryScale, LinearScale, PointElement, LineElement, BarElement, Tooltip, Legend);
// The zoom plugin touches `window` when it loads: only in the browser.
if (typeof window !== 'undefined') void import('chartjs-plugin-zoom').then((m) => ChartJS.register(m.default));
ChartJS.defaults.animation = false;

const PALETTE = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];
export const colorOf = (i: number) => PALETTE[i % PALETTE.length]!;

const fixed = (value: number | null | undefined, digits: number) =>
  value === null || value === undefined ? 'none' : value.toFixed(digits);

/** What the loss chart shows, in words (its text alternative): the epochs and the last losses. */
export function describeLoss(history: { epoch: number; loss: number; valLoss: number | null }[]): string {
  const last = history.at(-1);
  if (!last) return 'Training loss by epoch: no epoch finished yet.';
  const validation = last.valLoss === null ? '' : `, validation loss ${fixed(last.valLoss, 5)}`;
  return `Training loss by epoch over ${history.length} epochs: last (epoch ${last.epoch}) training loss ${fixed(last.loss, 5)}${validation}.`;
}

/** What the silhouette/elbow chart shows, in words: the range of k tried and the chosen k with its silhouette. */
export function describeElbow(elbow: { k: number; inertia: number; silhouette: number }[], chosen: number): string {
  const best = elbow.find((e) => e.k === chosen);
  const ks = elbow.map((e) => e.k);
  return `Silhouette (higher is better) and inertia for k from ${Math.min(...ks)} to ${Math.max(...ks)}: chosen k = ${chosen}, silhouette ${fixed(best?.silhouette, 3)}.`;
}

export function LossChart({ history }: { history: { epoch: number; loss: number; valLoss: number | null }[] }) {
  const hasVal = history.some((h) => h.valLoss !== null);
  return (
    <div className="chart" data-testid="loss-chart" data-points={history.length}>
      <Line
        aria-label={describeLoss(history)}
        data={{
          labels: history.map((h) => h.epoch),
          datasets: [
            { label: 'training loss', data: history.map((h) => h.loss), borderColor: colorOf(0), pointRadius: 2 },
            ...(hasVal ? [{ label: 'validation loss', data: history.map((h) => h.valLoss), borderColor: colorOf(1), pointRadius: 2 }] : []),
          ],
        }}
        options={{
          maintainAspectRatio: false,
          scales: { x: { title: { display: true, text: 'epoch' } }, y: { title: { display: true, text: 'loss' } } },
        }}
      />
    </div>
  );
}

export function ElbowChart({ elbow, chosen }: { elbow: { k: number; inertia: number; silhouette: number }[]; chosen: number }) {
  return (
    <div className="chart" data-testid="elbow-chart">
      <Line
        aria-label={describeElbow(elbow, chosen)}
        data={{
          labels: elbow.map((e) => e.k),
          datasets: [
            {
              label: 'silhouette',
              data: elbow.map((e) => e.silhouette),
              borderColor: colorOf(0),
              yAxisID: 'silhouette',
              pointRadius: elbow.map((e) => (e.k === chosen ? 6 : 2)),
            },
            { label: 'inertia (elbow)', data: elbow.map((e) => e.inertia), borderColor: colorOf(1), yAxisID: 'inertia', pointRadius: 2 },
          ],
        }}
        options={{
          maintainAspectRatio: false,
          scales: {
            x: { title: { display: true, text: 'k' } },
            silhouette: { position: 'left', title: { display: true, text: 'silhouette' } },
            inertia: { position: 'right', title: { display: true, text: 'inertia' }, grid: { drawOnChartArea: false } },
          },
        }}
      />
    </div>
  );
}

export function LatentBars({ latent }: { latent: number[] }) {
  return (
    <div className="chart small-chart" data-testid="latent-chart" data-dims={latent.length}>
      <Bar
        aria-label={`Latent vector: ${latent.length} values from ${fixed(Math.min(...latent), 3)} to ${fixed(Math.max(...latent), 3)}.`}
        data={{
          labels: latent.map((_, i) => i),
          datasets: [{ label: 'latent value', data: latent, backgroundColor: latent.map((v) => (v >= 0 ? colorOf(0) : colorOf(2))) }],
        }}
        options={{
          maintainAspectRatio: false,
          plugins: { legend: { display: false } },
          scales: { x: { title: { display: true, text: 'dimension' } } },
        }}
      />
    </div>
  );
}

/** The id of the data point nearest to a pixel of the chart (within 40 px), from the chart's own scales. */
function nearestPoint(c: ChartJS<'scatter'>, x: number, y: number): number | null {
  const { x: sx, y: sy } = c.scales;
  if (!sx || !sy) return null;
  let best: number | null = null;
  let bestDistance = 40 * 40;
  for (const dataset of c.data.datasets)
    for (const p of dataset.data as { x: number; y: number; id: number }[]) {
      const d = (sx.getPixelForValue(p.x) - x) ** 2 + (sy.getPixelForValue(p.y) - y) ** 2;
      if (d < bestDistance) {
        bestDistance = d;
        best = p.id;
      }
    }
  return best;
}

export type MapPoint = LatentMap['points'][number];

/** The latent map: points coloured by cluster or label; hover shows the thumbnail, click opens the image, the wheel zooms (double-click resets). */
export function MapScatter({ points, colorBy }: { points: MapPoint[]; colorBy: 'cluster' | 'label' }) {
  const [hover, setHover] = useState<{ id: number; x: number; y: number } | null>(null);
  const chart = useRef<ChartJS<'scatter'>>(null);
  const down = useRef<{ x: number; y: number } | null>(null);
  // The point under (nearest to) the pointer, kept by onHover; a click opens it.
  const hovered = useRef<number | null>(null);
  const wrapper = useRef<HTMLDivElement>(null);
  // Native listeners in the capture phase: the zoom plugin stops clicks on the canvas from bubbling
  // to React's handlers. A click (not the end of a drag) opens the hovered image; a double click resets the zoom.
  useEffect(() => {
    const element = wrapper.current;
    if (!element) return;
    const onDown = (e: MouseEvent) => (down.current = { x: e.clientX, y: e.clientY });
    const onClick = (e: MouseEvent) => {
      const start = down.current;
      const c = chart.current;
      if (!c || (start && Math.hypot(e.clientX - start.x, e.clientY - start.y) > 5)) return;
      const box = c.canvas.getBoundingClientRect();
      const id = nearestPoint(c, e.clientX - box.left, e.clientY - box.top);
      if (id !== null) window.location.assign(`/images/${id}`);
    };
    const onDouble = () => chart.current?.resetZoom();
    element.addEventListener('mousedown', onDown, true);
    element.addEventListener('click', onClick, true);
    element.addEventListener('dblclick', onDouble, true);
    return () => {
      element.removeEventListener('mousedown', onDown, true);
      element.removeEventListener('click', onClick, true);
      element.removeEventListener('dblclick', onDouble, true);
    };
  }, []);
  const datasets = useMemo(() => {
    const groups = new Map<string, MapPoint[]>();
    for (const p of points) {
      const key = colorBy === 'cluster' ? (p.cluster === null ? 'unclustered' : `cluster ${p.cluster}`) : (p.label ?? 'no label');
      (groups.get(key) ?? groups.set(key, []).get(key)!).push(p);
    }
    return [...groups.entries()]
      .sort(([a], [b]) => a.localeCompare(b, undefined, { numeric: true }))
      .map(([key, group], i) => ({
        label: key,
        data: group.map((p) => ({ x: p.x, y: p.y, id: p.id })),
        backgroundColor: colorOf(i),
        pointRadius: points.length > 5000 ? 1.5 : 3.5,
        pointHoverRadius: 6,
      }));
  }, [points, colorBy]);
  const pointAt = (elements: ActiveElement[]) => {
    const e = elements[0];
    if (!e) return null;
    return (datasets[e.datasetIndex]!.data[e.index] as { id: number }).id;
  };
  return (
    <div
      className="chart map"
      data-testid="latent-map"
      data-points={points.length}

      ref={wrapper}
    >
      <Scatter
        ref={chart}
        aria-label={`Map of the latent space: ${points.length} images in 2-D, coloured by ${colorBy} (${datasets.length} groups: ${datasets
          .map((d) => `${d.label}, ${d.data.length}`)
          .join('; ')}). Hover a point for its image; click to open it.`}
        data={{ datasets }}
        options={{
          maintainAspectRatio: false,
          // The nearest point answers, so a small point is easy to hover and click on a sparse map.
          interaction: { mode: 'nearest', intersect: false },
          onHover: (event: ChartEvent, elements) => {
            const id = pointAt(elements);
            hovered.current = id;
            // Where the hovered point is drawn ("x,y" in canvas pixels): a test (or a tour) can click it.
            const near = elements[0]?.element;
            if (near && wrapper.current) wrapper.current.dataset.hoverPoint = `${Math.round(near.x)},${Math.round(near.y)}`;
            setHover(id === null ? null : { id, x: event.x ?? 0, y: event.y ?? 0 });
          },
          plugins: {
            tooltip: { enabled: false },
            // Wheel zoom only: the plugin's drag-to-pan (Hammer.js) swallows the clicks that open images.
            zoom: { zoom: { wheel: { enabled: true }, mode: 'xy' } },
          },
        }}
      />
      {hover && (
        <img
          className="map-hover"
          src={`/api/images/${hover.id}/thumbnail`}
          alt=""
          style={{ left: hover.x + 12, top: hover.y + 12 }}
          data-testid="map-hover"
        />
      )}
    </div>
  );
}
