'use client';
/**
 * The pages' one way to call the API: JSON in and out, errors turned into an Error whose message
 * is the server's public message (what the user reads), and a polling hook for live progress.
 */
import { useEffect, useRef, useState } from 'react';
import type { Job } from '@/lib/jobs/job-service';
import { decodeMap, type MapColumns } from '@/lib/services/map-format';

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
    readonly body: unknown,
  ) {
    super(message);
  }
}

export async function api<T>(path: string, init: RequestInit & { json?: unknown } = {}): Promise<T> {
  const { json, ...rest } = init;
  const response = await fetch(path, {
    ...rest,
    ...(json !== undefined
      ? { method: rest.method ?? 'POST', body: JSON.stringify(json), headers: { 'Content-Type': 'application/json' } }
      : {}),
  });
  const body = (await response.json().catch(() => null)) as { error?: { code: string; message: string } } | null;
  if (!response.ok) {
    throw new ApiError(
      body?.error?.code ?? 'http_error',
      body?.error?.message ?? `request failed (${response.status})`,
      response.status,
      body,
    );
  }
  return body as T;
}

/** The latent map in its compact binary form, decoded into typed columns (views of the one body: no object per point). */
export async function fetchMap(method: 'pca' | 'umap', runId: number | null): Promise<{ columns: MapColumns; stale: boolean }> {
  const response = await fetch(`/api/map?format=binary&method=${method}${runId ? `&run=${runId}` : ''}`);
  if (!response.ok) {
    const body = (await response.json().catch(() => null)) as { error?: { code: string; message: string } } | null;
    throw new ApiError(
      body?.error?.code ?? 'http_error',
      body?.error?.message ?? `request failed (${response.status})`,
      response.status,
      body,
    );
  }
  const { header, ...columns } = decodeMap(await response.arrayBuffer());
  return { columns, stale: header.stale };
}

/** Calls `load` now and every `ms` while mounted; returns the latest value and error. */
export function usePoll<T>(
  load: () => Promise<T>,
  ms: number,
  deps: unknown[] = [],
): { data: T | null; error: string | null; refresh: () => void } {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    let alive = true;
    const run = () =>
      loadRef.current().then(
        (value) => {
          if (alive) {
            setData(value);
            setError(null);
          }
        },
        (e: unknown) => {
          if (alive) setError((e as Error).message);
        },
      );
    void run();
    const timer = ms > 0 ? setInterval(() => void run(), ms) : null;
    return () => {
      alive = false;
      if (timer) clearInterval(timer);
    };
  }, [ms, tick, ...deps]);
  return { data, error, refresh: () => setTick((t) => t + 1) };
}

// The shapes the API answers with are the server's own (type-only imports: nothing of lib/ reaches the browser).
export type { ImageRecord } from '@/lib/services/image-service';
export type { Job, JobProgress } from '@/lib/jobs/job-service';
export type { LibraryStatus as Status } from '@/lib/services/status-service';
export type { SearchResult } from '@/lib/services/search-service';

/** Waits for a job to leave the queue; `onUpdate` sees every poll; `signal` stops the waiting (not the job). */
export async function waitForJob(id: number, onUpdate?: (job: Job) => void, signal?: AbortSignal): Promise<Job> {
  for (;;) {
    const job = await api<Job>(`/api/jobs/${id}`, signal ? { signal } : {});
    if (signal?.aborted) throw new DOMException('stopped waiting for the job', 'AbortError');
    onUpdate?.(job);
    if (job.state !== 'queued' && job.state !== 'running') return job;
    await new Promise((r) => setTimeout(r, 700));
  }
}
