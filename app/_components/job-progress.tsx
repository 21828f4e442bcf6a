'use client';
/** One job's live progress: phase, bar, rate, ETA, last loss, and a cancel button while it runs. */
import { api, type Job } from './api';
import { describeJob } from './job-description';

function eta(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds)) return '';
  if (seconds < 90) return `${Math.max(0, Math.round(seconds))} s left`;
  return `${Math.round(seconds / 60)} min left`;
}

export function JobProgress({ job, onChange }: { job: Job; onChange?: () => void }) {
  const p = job.progress;
  const share = p.total ? Math.min(1, (p.done ?? 0) / p.total) : null;
  const active = job.state === 'queued' || job.state === 'running';
  return (
    <div className={`job job-${job.state}`} data-testid={`job-${job.id}`} data-state={job.state}>
      <div className="job-line">
        <strong>{describeJob(job)}</strong>
        <span className="muted">
          {job.state === 'running' ? (p.phase ?? 'running') : job.state}
          {share !== null && active ? ` · ${Math.floor(share * 100)}%` : ''}
          {p.loss !== undefined && active ? ` · loss ${p.loss.toFixed(4)}` : ''}
          {p.imagesPerSec && active ? ` · ${Math.round(p.imagesPerSec)} img/s` : ''}
          {active ? ` ${eta(p.etaSeconds) ? '· ' + eta(p.etaSeconds) : ''}` : ''}
        </span>
        {active && (
          <button
            className="link"
            data-testid={`cancel-job-${job.id}`}
            onClick={() => void api(`/api/jobs/${job.id}/cancel`, { method: 'POST' }).then(onChange, onChange)}
          >
            cancel
          </button>
        )}
      </div>
      {active && (
        <progress max={1} value={share ?? undefined} aria-label={`${describeJob(job)} progress`} data-testid={`job-progress-${job.id}`} />
      )}
      {p.message && active && <div className="muted small">{p.message}</div>}
      {job.state === 'failed' && <div className="error small">{job.error}</div>}
    </div>
  );
}
