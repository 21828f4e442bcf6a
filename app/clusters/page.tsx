'use client';
/** Clusters: run k-means (k, or automatic with the silhouette/elbow chart), cards per cluster, rename, and the latent map. */
import Link from 'next/link';
import { useEffect, useState } from 'react';
import { api, fetchMap, usePoll, waitForJob, type Job, type Status } from '@/app/_components/api';
import { ElbowChart } from '@/app/_components/charts';
import { LatentMap } from '@/app/_components/latent-map';
import { JobProgress } from '@/app/_components/job-progress';
import { NextSteps } from '@/app/_components/next-steps';
import type { ClusterRun as Run, ClusterRunListing, ClusterSummary } from '@/lib/services/cluster-service';

function ClusterCard({ run, c, onRenamed }: { run: Run; c: ClusterSummary; onRenamed: () => void }) {
  const [name, setName] = useState(c.name ?? '');
  const [editing, setEditing] = useState(false);
  const save = async () => {
    await api(`/api/clusters/${run.id}/${c.cluster}`, { method: 'PATCH', json: { name } });
    setEditing(false);
    onRenamed();
  };
  return (
    <div className="cluster-card" data-testid="cluster-card" data-cluster={c.cluster} data-size={c.size}>
      <div className="row" style={{ justifyContent: 'space-between' }}>
        {editing ? (
          <span className="row">
            <input type="text" value={name} onChange={(e) => setName(e.target.value)} maxLength={100} data-testid="cluster-name-input" />
            <button onClick={() => void save()} data-testid="cluster-name-save">
              save
            </button>
          </span>
        ) : (
          <Link href={`/clusters/${run.id}/${c.cluster}`} data-testid="cluster-open">
            <strong>{c.name ?? `Cluster ${c.cluster + 1}`}</strong>
          </Link>
        )}
        <span className="muted small">{c.size} images</span>
      </div>
      <div className="thumbs">
        {c.representatives.slice(0, 6).map((id) => (
          <Link key={id} href={`/images/${id}`}>
            <img src={`/api/images/${id}/thumbnail`} alt={`representative ${id}`} loading="lazy" />
          </Link>
        ))}
      </div>
      <div className="row small">
        <span className="muted">spread {c.spread.toFixed(3)}</span>
        {!editing && (
          <button className="link" onClick={() => setEditing(true)} data-testid="cluster-rename">
            rename
          </button>
        )}
      </div>
    </div>
  );
}

export default function ClustersPage() {
  const { data: status } = usePoll(() => api<Status>('/api/status'), 3000);
  const { data: runs, error: runsError, refresh: refreshRuns } = usePoll(() => api<{ runs: ClusterRunListing[] }>('/api/clusters'), 0);
  const [runId, setRunId] = useState<number | null>(null);
  const [run, setRun] = useState<Run | null>(null);
  const [k, setK] = useState<string>('auto');
  const [umap, setUmap] = useState(false);
  const [job, setJob] = useState<Job | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [method, setMethod] = useState<'pca' | 'umap'>('pca');
  const [colorBy, setColorBy] = useState<'cluster' | 'label'>('cluster');
  const [map, setMap] = useState<Awaited<ReturnType<typeof fetchMap>> | null>(null);
  const [mapJob, setMapJob] = useState<Job | null>(null);

  useEffect(() => {
    if (runId === null && runs?.runs[0]) setRunId(runs.runs[0].id);
  }, [runs, runId]);
  const loadRun = () => {
    if (runId !== null) void api<Run>(`/api/clusters/${runId}`).then(setRun, (e: Error) => setError(e.message));
  };
  useEffect(loadRun, [runId]);
  // The map is read once the run it is coloured by is known, not once without it and again with
  // it: at a million images each read takes the server seconds (docs/sizing.md).
  const runPending = (!runs && !runsError) || (runId === null && (runs?.runs.length ?? 0) > 0);
  useEffect(() => {
    if (!status?.model?.id || runPending) return;
    void fetchMap(method, runId).then(setMap, (e: Error) => setError(e.message));
  }, [method, runId, status?.model?.id, mapJob?.state, runPending]);

  const cluster = async () => {
    setError(null);
    try {
      const body = k === 'auto' ? { k: 'auto', range: [2, 12], umap } : { k: Number(k), umap };
      const { job: queued } = await api<{ job: Job }>('/api/clusters', { json: body });
      setJob(queued);
      const done = await waitForJob(queued.id, setJob);
      if (done.state === 'succeeded') {
        refreshRuns();
        setRunId((done.result as { runId: number }).runId);
      }
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const computeUmap = async () => {
    const { job: queued } = await api<{ job: Job }>('/api/map', { json: { method: 'umap' } });
    setMapJob(queued);
    await waitForJob(queued.id, setMapJob);
  };

  return (
    <>
      <h1>Clusters</h1>
      <p className="lead">Group the library with k-means on the latent vectors; name the groups and export them.</p>
      <NextSteps status={status} />
      <div className="panel row">
        <label>
          clusters
          <select value={k} onChange={(e) => setK(e.target.value)} data-testid="cluster-k">
            <option value="auto">automatic (silhouette, 2–12)</option>
            {Array.from({ length: 19 }, (_, i) => i + 2).map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <label title="cluster a UMAP projection of the latents (N2D): better groups, slower">
          <input type="checkbox" checked={umap} onChange={(e) => setUmap(e.target.checked)} /> on UMAP
        </label>
        <button
          className="primary"
          onClick={() => void cluster()}
          disabled={!status?.model || job?.state === 'running' || job?.state === 'queued'}
          data-testid="run-clustering"
        >
          Run clustering
        </button>
        {runs && runs.runs.length > 0 && (
          <label>
            run
            <select value={runId ?? ''} onChange={(e) => setRunId(Number(e.target.value))} data-testid="cluster-run">
              {runs.runs.map((r) => (
                <option key={r.id} value={r.id}>
                  #{r.id} · k={r.params.k}
                  {r.params.auto ? ' (auto)' : ''} · {new Date(r.createdAt).toLocaleString()}
                </option>
              ))}
            </select>
          </label>
        )}
      </div>
      {job && (job.state !== 'succeeded' || !run) && <JobProgress job={job} />}
      {error && <p className="error">{error}</p>}
      {run && (
        <>
          {run.result.elbow && (
            <>
              <h2>Choosing k: silhouette (higher is better) and the elbow of the inertia</h2>
              <ElbowChart elbow={run.result.elbow} chosen={run.params.k} />
            </>
          )}
          <h2>
            {run.result.clusters.length} clusters <span className="muted small">run #{run.id}</span>
          </h2>
          <div className="clusters" data-testid="clusters">
            {run.result.clusters.map((c) => (
              <ClusterCard key={`${run.id}-${c.cluster}`} run={run} c={c} onRenamed={loadRun} />
            ))}
          </div>
        </>
      )}
      {status?.model && (
        <>
          <h2>Map of the latent space</h2>
          <div className="row">
            <label>
              projection
              <select value={method} onChange={(e) => setMethod(e.target.value as 'pca' | 'umap')} data-testid="map-method">
                <option value="pca">PCA (exact, instant)</option>
                <option value="umap">UMAP (structure)</option>
              </select>
            </label>
            <label>
              colour by
              <select value={colorBy} onChange={(e) => setColorBy(e.target.value as 'cluster' | 'label')} data-testid="map-color">
                <option value="cluster">cluster</option>
                <option value="label">label</option>
              </select>
            </label>
            {method === 'umap' && (
              <button
                onClick={() => void computeUmap()}
                disabled={mapJob?.state === 'running' || mapJob?.state === 'queued'}
                data-testid="compute-umap"
              >
                {map?.columns.ids.length ? 'recompute UMAP' : 'compute UMAP'}
              </button>
            )}
            <span className="muted small">wheel to zoom, drag to pan (double-click refits), hover for the image, click to open it</span>
          </div>
          {mapJob && mapJob.state !== 'succeeded' && <JobProgress job={mapJob} />}
          {map && map.columns.ids.length > 0 ? (
            <LatentMap map={map.columns} colorBy={colorBy} />
          ) : (
            <p className="muted">{method === 'umap' ? 'No UMAP map yet: compute it.' : 'The map appears once images are embedded.'}</p>
          )}
        </>
      )}
    </>
  );
}
