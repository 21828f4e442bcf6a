'use client';
/** One cluster: all its images (nearest to the centre first), its outliers, and export. */
import Link from 'next/link';
import { useParams } from 'next/navigation';
import { useState } from 'react';
import { api, usePoll } from '../../../_components/api';
import { ImageGrid } from '../../../_components/image-grid';

interface ClusterPage {
  runId: number;
  summary: { cluster: number; name: string | null; size: number; spread: number };
  total: number;
  members: { id: number; name: string | null; labels: string[]; distance: number }[];
  outliers: { id: number; name: string | null }[];
}

const PAGE = 120;

export default function ClusterDetail() {
  const { runId, cluster } = useParams<{ runId: string; cluster: string }>();
  const [offset, setOffset] = useState(0);
  const [folder, setFolder] = useState(`cluster-${runId}-${cluster}`);
  const [exported, setExported] = useState<string | null>(null);
  const { data, error } = usePoll(() => api<ClusterPage>(`/api/clusters/${runId}/${cluster}?offset=${offset}&limit=${PAGE}`), 0, [offset]);
  if (error) return <p className="error">{error}</p>;
  if (!data) return <p className="muted">…</p>;
  const exportFolder = async () => {
    try {
      const r = await api<{ files: number; folder: string }>(`/api/clusters/${runId}/${cluster}/export`, { json: { folder } });
      setExported(`${r.files} files written to ${r.folder}`);
    } catch (e) {
      setExported((e as Error).message);
    }
  };
  return (
    <>
      <p>
        <Link href="/clusters">← all clusters</Link>
      </p>
      <h1 data-testid="cluster-title">{data.summary.name ?? `Cluster ${data.summary.cluster + 1}`}</h1>
      <p className="lead">
        {data.total} images · spread {data.summary.spread.toFixed(3)} · run #{data.runId}
      </p>
      <div className="panel row">
        <a href={`/api/clusters/${runId}/${cluster}/export?format=csv`} data-testid="export-csv">
          download CSV
        </a>
        <a href={`/api/clusters/${runId}/${cluster}/export?format=json`}>download JSON</a>
        <span className="row">
          <input type="text" value={folder} onChange={(e) => setFolder(e.target.value)} aria-label="export folder name" />
          <button onClick={() => void exportFolder()}>copy originals to data/exports/…</button>
        </span>
        {exported && <span className="muted small">{exported}</span>}
      </div>
      {data.outliers.length > 0 && (
        <>
          <h2>Outliers (farthest from the centre)</h2>
          <ImageGrid
            testId="cluster-outliers"
            items={data.outliers.map((o) => ({ image: { id: o.id, originalName: o.name, labels: [] } }))}
          />
        </>
      )}
      <h2>Members</h2>
      <ImageGrid
        testId="cluster-members"
        items={data.members.map((m) => ({
          image: { id: m.id, originalName: m.name, labels: m.labels },
          note: `distance ${m.distance.toFixed(3)}`,
        }))}
      />
      <div className="pager">
        <button disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
          previous
        </button>
        <span className="muted">
          {offset + 1}–{Math.min(offset + PAGE, data.total)} of {data.total}
        </span>
        <button disabled={offset + PAGE >= data.total} onClick={() => setOffset(offset + PAGE)}>
          next
        </button>
      </div>
    </>
  );
}
