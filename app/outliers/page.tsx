'use client';
/** Outliers: the images the model reconstructs worst, or the farthest from their cluster's centre — paged, the reason shown. */
import Link from 'next/link';
import { useState } from 'react';
import { api, usePoll } from '@/app/_components/api';
import { ImageGrid } from '@/app/_components/image-grid';
import { Pager, useCursorPages } from '@/app/_components/pager';
import type { OutlierPage, OutlierRanking } from '@/lib/services/anomaly-service';

const PAGE = 24;

const REASONS: Record<OutlierRanking, { label: string; value: string; explain: string }> = {
  reconstruction: {
    label: 'reconstruction error',
    value: 'error',
    explain:
      'how badly the active model redraws the image (mean squared error per pixel): what it has rarely seen — a scan of another body part, a corrupted file, a screenshot among holiday photos — it redraws worst.',
  },
  centre: {
    label: 'distance to the cluster centre',
    value: 'distance',
    explain: "how far the image's code lies from the centre of its cluster in the latest clustering: the ones that fit no group.",
  },
};

export default function OutliersPage() {
  const [by, setBy] = useState<OutlierRanking>('reconstruction');
  const pages = useCursorPages();
  const [afterValue, afterId] = pages.cursor?.split(':') ?? [];
  const query = `/api/outliers?by=${by}&limit=${PAGE}${pages.cursor ? `&afterValue=${afterValue}&afterId=${afterId}` : ''}`;
  const { data, error } = usePoll(() => api<OutlierPage>(query), 0, [query]);
  const reason = REASONS[by];

  return (
    <>
      <h1>Outliers</h1>
      <p className="lead">The odd ones out, worst first.</p>
      <div className="row">
        <label>
          rank by
          <select
            value={by}
            onChange={(e) => {
              setBy(e.target.value as OutlierRanking);
              pages.reset();
            }}
            data-testid="outliers-by"
          >
            {Object.entries(REASONS).map(([key, r]) => (
              <option key={key} value={key}>
                {r.label}
              </option>
            ))}
          </select>
        </label>
      </div>
      <p className="muted small" data-testid="outliers-explain">
        Ranked by {reason.label}: {reason.explain}
      </p>
      {error && (
        <p className="error" role="alert" data-testid="outliers-error">
          {error}{' '}
          {by === 'centre' && (
            <Link href="/clusters" style={{ textDecoration: 'underline' }}>
              Open Clusters
            </Link>
          )}
        </p>
      )}
      {data && !error && (
        <>
          <ImageGrid
            testId="outliers-grid"
            items={data.items.map(({ image, value }) => ({ image, note: `${reason.value} ${value.toPrecision(3)}` }))}
          />
          <Pager
            pages={pages}
            page={PAGE}
            shown={data.items.length}
            total={data.total}
            nextCursor={data.nextCursor ? `${data.nextCursor.value}:${data.nextCursor.imageId}` : null}
          />
        </>
      )}
    </>
  );
}
