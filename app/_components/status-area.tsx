'use client';
/** Always on screen: the backend in use, the library's size, the active model, and jobs with live progress. */
import Link from 'next/link';
import { useState } from 'react';
import { api, usePoll, type Status } from './api';
import { JobProgress } from './job-progress';

export function StatusArea() {
  const { data, error, refresh } = usePoll(() => api<Status>('/api/status'), 1500);
  const [open, setOpen] = useState(false);
  if (error)
    return (
      <div className="status error" data-testid="status-area">
        Server unreachable: {error}
      </div>
    );
  if (!data)
    return (
      <div className="status muted" data-testid="status-area">
        …
      </div>
    );
  const active = data.jobs.filter((j) => j.state === 'queued' || j.state === 'running');
  const recent = data.jobs.filter((j) => j.state !== 'queued' && j.state !== 'running').slice(0, 3);
  return (
    <div className="status" data-testid="status-area">
      <div className="status-line">
        <span data-testid="status-backend" title="TensorFlow.js backend">
          engine: {data.backend}
        </span>
        <span data-testid="status-images">{data.images.toLocaleString()} images</span>
        <span data-testid="status-model">
          {data.model ? (
            <Link href="/models">
              model {data.model.name} ({data.model.latentSize}-d)
            </Link>
          ) : (
            <Link href="/models">no model yet</Link>
          )}
        </span>
        {active.length === 0 && recent.length > 0 && (
          <button className="link" onClick={() => setOpen(!open)}>
            {open ? 'hide' : 'recent jobs'}
          </button>
        )}
      </div>
      {active.map((job) => (
        <JobProgress key={job.id} job={job} onChange={refresh} />
      ))}
      {open && recent.map((job) => <JobProgress key={job.id} job={job} />)}
    </div>
  );
}
