'use client';
/** One cluster: all its images (nearest to the centre first), its outliers, and export. */
import Link from 'next/link';
import { useParams } from 'next/navigation';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { api, usePoll } from '@/app/_components/api';
import { Pager, useCursorPages } from '@/app/_components/pager';
import { ImageGrid } from '@/app/_components/image-grid';
import type { ClusterPage, ClusterRun } from '@/lib/services/cluster-service';

const PAGE = 120;

export default function ClusterDetail() {
  // Null only under the Pages Router; this page is an App Router page.
  const { runId, cluster } = useParams<{ runId: string; cluster: string }>() ?? { runId: '', cluster: '' };
  const pages = useCursorPages();
  const [folder, setFolder] = useState(`cluster-${runId}-${cluster}`);
  const [exported, setExported] = useState<string | null>(null);
  const router = useRouter();
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const [moveTo, setMoveTo] = useState('');
  const [parts, setParts] = useState(2);
  const [editError, setEditError] = useState<string | null>(null);
  const cursor = pages.cursor ? `&cursor=${encodeURIComponent(pages.cursor)}` : '';
  const { data, error, refresh } = usePoll(() => api<ClusterPage>(`/api/clusters/${runId}/${cluster}?limit=${PAGE}${cursor}`), 0, [cursor]);
  const { data: run } = usePoll(() => api<ClusterRun>(`/api/clusters/${runId}`), 0, [data]);
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
  const edit = async (body: Record<string, unknown>, then?: () => void) => {
    setEditError(null);
    try {
      await api(`/api/clusters/${runId}/edits`, { json: body });
      setSelected(new Set());
      if (then) then();
      else refresh();
    } catch (e) {
      setEditError((e as Error).message);
    }
  };
  const others = run?.result.clusters.filter((c) => String(c.cluster) !== cluster) ?? [];
  const toggle = (id: number) => {
    const next = new Set(selected);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setSelected(next);
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
      <div className="panel row" data-testid="cluster-edits">
        <strong>Correct by hand</strong>
        <span className="muted small">{selected.size} selected</span>
        <select value={moveTo} onChange={(e) => setMoveTo(e.target.value)} data-testid="move-target" aria-label="move to cluster">
          <option value="">move to…</option>
          {others.map((c) => (
            <option key={c.cluster} value={c.cluster}>
              {c.name ?? `Cluster ${c.cluster + 1}`} ({c.size})
            </option>
          ))}
        </select>
        <button
          disabled={!selected.size || moveTo === ''}
          onClick={() => void edit({ op: 'move', imageIds: [...selected], to: Number(moveTo) })}
          data-testid="move-selected"
        >
          move selected
        </button>
        <button
          disabled={moveTo === ''}
          onClick={() =>
            void edit({ op: 'merge', from: Number(cluster), into: Number(moveTo) }, () => router.push(`/clusters/${runId}/${moveTo}`))
          }
          data-testid="merge-cluster"
        >
          merge this cluster into it
        </button>
        <label>
          split into
          <input type="number" min={2} max={20} value={parts} onChange={(e) => setParts(Number(e.target.value))} style={{ width: 60 }} />
        </label>
        <button onClick={() => void edit({ op: 'split', cluster: Number(cluster), k: parts })} data-testid="split-cluster">
          split
        </button>
        <span className="muted small">moved images stay together under this name when you cluster again</span>
        {editError && <span className="error">{editError}</span>}
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
          action: (
            <label className="small">
              <input type="checkbox" checked={selected.has(m.id)} onChange={() => toggle(m.id)} data-testid="select-member" /> select
            </label>
          ),
        }))}
      />
      <Pager pages={pages} page={PAGE} shown={data.members.length} total={data.total} nextCursor={data.nextCursor} />
    </>
  );
}
