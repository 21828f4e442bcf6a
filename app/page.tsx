'use client';
/** Search by example: drop, paste or pick an image (or several) → the most similar stored images. */
import { useCallback, useEffect, useState } from 'react';
import { api, usePoll, type SearchResult, type Status } from './_components/api';
import { Dropzone } from './_components/dropzone';
import { ImageFilters } from './_components/filters';
import { ImageGrid } from './_components/image-grid';
import { NextSteps } from './_components/next-steps';
import type { ClusterRun, ClusterRunListing } from '@/lib/services/cluster-service';
import type { LibraryPage } from '@/lib/services/image-service';

interface Query {
  key: string;
  name: string;
  preview: string;
  result: SearchResult | null;
  error: string | null;
}

interface Filters {
  k: number;
  modality: string;
  label: string;
  /** "run:cluster" of a stored clustering, or ''. */
  cluster: string;
}

function searchFields(filters: Filters): Record<string, string> {
  return {
    k: String(filters.k),
    ...(filters.modality ? { modality: filters.modality } : {}),
    ...(filters.label ? { label: filters.label } : {}),
    ...(filters.cluster ? { run: filters.cluster.split(':')[0]!, cluster: filters.cluster.split(':')[1]! } : {}),
  };
}

/** Similarity in (0, 1] from a squared L2 distance, for display. */
const similarity = (distance: number) => (1 / (1 + distance)).toFixed(3);

export default function SearchPage() {
  const { data: status } = usePoll(() => api<Status>('/api/status'), 3000);
  const { data: labels } = usePoll(() => api<LibraryPage>('/api/images?limit=1'), 0);
  const [filters, setFilters] = useState<Filters>({ k: 12, modality: '', label: '', cluster: '' });
  const { data: runs } = usePoll(() => api<{ runs: ClusterRunListing[] }>('/api/clusters'), 0);
  const latest = runs?.runs[0]?.id;
  const { data: latestRun } = usePoll(() => (latest ? api<ClusterRun>(`/api/clusters/${latest}`) : Promise.resolve(null)), 0, [latest]);
  const [queries, setQueries] = useState<Query[]>([]);
  const [files, setFiles] = useState<File[]>([]);

  const run = useCallback(async (list: File[], f: Filters) => {
    const next = list.map((file, i) => ({
      key: `${file.name}-${i}-${file.size}`,
      name: file.name,
      preview: URL.createObjectURL(file),
      result: null,
      error: null,
    }));
    setQueries(next);
    await Promise.all(
      list.map(async (file, i) => {
        const form = new FormData();
        form.append('file', file);
        for (const [k, v] of Object.entries(searchFields(f))) form.append(k, v);
        try {
          const result = await api<SearchResult>('/api/search', { method: 'POST', body: form });
          setQueries((qs) => qs.map((q, j) => (j === i ? { ...q, result } : q)));
        } catch (error) {
          setQueries((qs) => qs.map((q, j) => (j === i ? { ...q, error: (error as Error).message } : q)));
        }
      }),
    );
  }, []);

  useEffect(() => {
    if (files.length) void run(files, filters);
  }, [files, filters, run]);

  const moreLikeThis = async (imageId: number) => {
    setFiles([]);
    setQueries([
      { key: `id-${imageId}`, name: `image ${imageId}`, preview: `/api/images/${imageId}/thumbnail`, result: null, error: null },
    ]);
    try {
      const fields = searchFields(filters);
      const result = await api<SearchResult>('/api/search', {
        json: {
          imageId,
          k: filters.k,
          modality: fields.modality,
          label: fields.label,
          run: fields.run ? Number(fields.run) : undefined,
          cluster: fields.cluster ? Number(fields.cluster) : undefined,
        },
      });
      setQueries((qs) => qs.map((q) => ({ ...q, result })));
    } catch (error) {
      setQueries((qs) => qs.map((q) => ({ ...q, error: (error as Error).message })));
    }
  };

  return (
    <>
      <h1>Search by example</h1>
      <p className="lead">Find the stored images the active autoencoder sees as most similar.</p>
      <NextSteps status={status} />
      <Dropzone onFiles={setFiles} multiple testId="search-drop">
        Drop one or more images here, paste one (Ctrl+V), or
      </Dropzone>
      <div className="row panel">
        <label>
          results
          <input
            type="number"
            min={1}
            max={100}
            value={filters.k}
            data-testid="search-k"
            onChange={(e) => setFilters({ ...filters, k: Math.max(1, Math.min(100, Number(e.target.value) || 1)) })}
          />
        </label>
        <ImageFilters
          modality={filters.modality}
          label={filters.label}
          labels={labels?.labels}
          testId="search"
          onChange={(change) => setFilters({ ...filters, ...change })}
        />
        {latestRun && (
          <label>
            cluster
            <select
              value={filters.cluster}
              onChange={(e) => setFilters({ ...filters, cluster: e.target.value })}
              data-testid="search-cluster"
            >
              <option value="">any</option>
              {latestRun.result.clusters.map((c) => (
                <option key={c.cluster} value={`${latestRun.id}:${c.cluster}`}>
                  {c.name ?? `Cluster ${c.cluster + 1}`} ({c.size})
                </option>
              ))}
            </select>
          </label>
        )}
      </div>
      {queries.map((q) => (
        <section key={q.key} className="panel" data-testid="search-query">
          <div className="row">
            {/* The query, shown beside its results. */}
            <img
              src={q.preview}
              alt={`query ${q.name}`}
              width={96}
              height={96}
              style={{ objectFit: 'cover', borderRadius: 6 }}
              data-testid="query-preview"
            />
            <div>
              <strong>{q.name}</strong>
              <div className="muted small">{q.result ? `${q.result.hits.length} most similar images` : q.error ? '' : 'searching…'}</div>
            </div>
          </div>
          {q.error && (
            <p className="error" data-testid="search-error">
              {q.error}
            </p>
          )}
          {q.result && (
            <ImageGrid
              testId="search-results"
              items={q.result.hits.map((h) => ({
                image: h.image,
                note: `similarity ${similarity(h.distance)}`,
                action: (
                  <button className="link" data-testid="more-like-this" onClick={() => void moreLikeThis(h.image.id)}>
                    more like this
                  </button>
                ),
              }))}
            />
          )}
        </section>
      ))}
    </>
  );
}
