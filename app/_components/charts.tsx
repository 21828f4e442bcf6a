'use client';
/**
 * Charts (chart.js through react-chartjs-2): training loss curves, the silhouette/elbow chart of
 * automatic k and a latent vector as bars. The latent map is drawn with WebGL (latent-map.tsx).
 */
import { BarElement, CategoryScale, Chart as ChartJS, Legend, LinearScale, LineElement, PointElement, Tooltip } from 'chart.js';
import { Bar, Line } from 'react-chartjs-2';
import { PALETTE } from './map-view';

ChartJS.register(CategoryScale, LinearScale, PointElement, LineElement, BarElement, Tooltip, Legend);
ChartJS.defaults.animation = false;

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
