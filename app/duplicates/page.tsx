'use client';
/**
 * Near-duplicates to review: the search runs as a job (live progress, cancel; the worker's, never
 * the web server's time), then groups side by side (size, resolution, format, file size, date), what
 * the threshold means and what it finds, "keep the best" per group or for all — the plan shown
 * before anything is deleted — deletion as one job with progress, an undo, and the trash.
 */
import Link from 'next/link';
import { useEffect, useState } from 'react';
import { api, usePoll, waitForJob, type ImageRecord, type Job } from '@/app/_components/api';
import { JobProgress } from '@/app/_components/job-progress';
import type { DuplicateReview } from '@/lib/services/duplicates-service';
import type { TrashContents } from '@/lib/services/trash-service';

const FRACTIONS = [0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2];
const percent = (f: number) => `${+(f * 100).toFixed(1)} %`;
const ordinal = (n: number) =>
  `${n}${n % 10 === 1 && n !== 11 ? 'st' : n % 10 === 2 && n !== 12 ? 'nd' : n % 10 === 3 && n !== 13 ? 'rd' : 'th'}`;
const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;

function ImageCell({ image, keep }: { image: ImageRecord; keep: boolean }) {
  return (
    <li className="card" data-testid="dup-image" data-image-id={image.id} data-keep={keep}>
      <Link href={`/images/${image.id}`}>
        <img src={`/api/images/${image.id}/thumbnail`} alt={image.originalName ?? `image ${image.id}`} width={160} height={160} />
      </Link>
      <div className="card-meta">
        <span className="name">{image.originalName ?? `#${image.id}`}</span>
        <span className="small muted">
          {image.width}×{image.height} · {image.format} · {kib(image.byteSize)} · {image.createdAt.slice(0, 10)}
        </span>
        <strong className={keep ? 'ok small' : 'error small'} data-testid="dup-verdict">
          {keep ? '✓ keep (best)' : '✗ delete'}
        </strong>
      </div>
    </li>
  );
}

export default function DuplicatesPage() {
  const [fraction, setFraction] = useState<number | null>(null);
  // One search per threshold (and per "search again"): a job whose groups are then reviewed here.
  const [searches, setSearches] = useState(0);
  const [scan, setScan] = useState<Job | null>(null);
  const [review, setReview] = useState<DuplicateReview | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    const stop = new AbortController();
    const fail = (e: unknown) => {
      if (!stop.signal.aborted) setError(e instanceof Error ? e.message : String(e));
    };
    setError(null);
    setReview(null);
    (async () => {
      const { job } = await api<{ job: Job }>('/api/duplicates', { json: fraction === null ? {} : { fraction }, signal: stop.signal });
      setScan(job);
      const done = await waitForJob(job.id, setScan, stop.signal);
      if (done.state === 'succeeded') {
        const found = await api<DuplicateReview>(`/api/duplicates?job=${done.id}`, { signal: stop.signal });
        if (!stop.signal.aborted) setReview(found);
      } else fail(done.state === 'cancelled' ? 'The search was cancelled.' : `The search failed: ${done.error ?? done.state}`);
    })().catch(fail);
    return () => stop.abort();
  }, [fraction, searches]);
  // After a deletion: the same search's groups again, without the images gone. Restored images come
  // back under new ids, which that search cannot name: after an undo the library is searched again.
  const searchAgain = () => setSearches((n) => n + 1);
  const refresh = () => {
    if (scan?.state === 'succeeded')
      api<DuplicateReview>(`/api/duplicates?job=${scan.id}`).then(setReview, (e: Error) => setError(e.message));
  };
  const { data: trash, refresh: refreshTrash } = usePoll(() => api<TrashContents>('/api/trash'), 0);
  const [plan, setPlan] = useState<ImageRecord[] | null>(null);
  const [job, setJob] = useState<Job | null>(null);
  const [message, setMessage] = useState<string | null>(null);

  // The server's fraction is threshold / reference: rounded, so the default matches its option.
  const shown = fraction ?? (review ? Number(review.fraction.toFixed(6)) : null);
  const choices = shown === null || FRACTIONS.includes(shown) ? FRACTIONS : [...FRACTIONS, shown].sort((a, b) => a - b);
  const removable = (groups: DuplicateReview['groups']) => groups.flatMap((g) => g.images.filter((i) => i.id !== g.keep));

  const confirm = async () => {
    if (!plan) return;
    setMessage(null);
    const queued = (await api<{ job: Job }>('/api/trash', { json: { ids: plan.map((i) => i.id) } })).job;
    setPlan(null);
    setJob(queued);
    await waitForJob(queued.id, setJob);
    refresh();
    refreshTrash();
  };
  const undo = async (jobId: number) => {
    const { restored } = await api<{ restored: unknown[] }>('/api/trash/restore', { json: { jobId } });
    setMessage(`Restored ${restored.length} images.`);
    setJob(null);
    searchAgain();
    refreshTrash();
  };
  const restoreAll = async () => {
    const { restored } = await api<{ restored: unknown[] }>('/api/trash/restore', { json: {} });
    setMessage(`Restored ${restored.length} images.`);
    searchAgain();
    refreshTrash();
  };
  const empty = async () => {
    const { removed } = await api<{ removed: number }>('/api/trash', { method: 'DELETE' });
    setMessage(`Deleted ${removed} images for good.`);
    setJob(null);
    refreshTrash();
  };

  return (
    <>
      <h1>Duplicates</h1>
      <p className="lead">
        Near-duplicates: resized, recompressed or slightly cropped copies. (Exact copies never enter the library: the same bytes are one
        image.)
      </p>
      <div className="row">
        <label>
          threshold
          <select
            value={shown ?? ''}
            onChange={(e) => setFraction(Number(e.target.value))}
            data-testid="dup-fraction"
            aria-describedby="dup-meaning"
          >
            {shown === null && <option value="">…</option>}
            {choices.map((f) => (
              <option key={f} value={f}>
                {percent(f)}
              </option>
            ))}
          </select>
        </label>
      </div>
      {scan && (
        <div className="panel" data-testid="dup-scan" data-state={scan.state} data-job={scan.id}>
          {scan.state === 'succeeded' ? (
            <div className="row">
              <span className="muted small">
                Searched {scan.progress.total ?? ''} images at {new Date(scan.finishedAt ?? scan.updatedAt).toLocaleTimeString()}; images
                added since are not in it.
              </span>
              <button onClick={searchAgain} data-testid="dup-search-again">
                Search again
              </button>
            </div>
          ) : (
            <JobProgress job={scan} />
          )}
        </div>
      )}
      {review && (
        <p className="panel small" id="dup-meaning" data-testid="dup-summary">
          Two images are near-duplicates when the distance between their codes is under <strong>{percent(review.fraction)}</strong> of the
          typical distance between unrelated images (the median distance from an image to its {ordinal(review.rank)} most similar one:{' '}
          {review.reference.toPrecision(3)}; threshold {review.threshold.toPrecision(3)}). Higher finds more distant copies and, past about
          5 %, merely similar images. At this threshold:{' '}
          <strong data-testid="dup-counts">
            {review.groups.length} groups, {review.images} images
          </strong>
          .
        </p>
      )}
      {error && (
        <p className="error" role="alert" data-testid="dup-error">
          {error}
        </p>
      )}
      {message && (
        <p className="panel" role="status" data-testid="dup-message">
          {message}
        </p>
      )}
      {job && (
        <div className="panel" data-testid="delete-job" data-state={job.state}>
          <JobProgress job={job} />
          {job.state === 'succeeded' && (
            <p>
              Moved {(job.result as { trashed: number }).trashed} images to the trash.{' '}
              <button className="primary" onClick={() => void undo(job.id)} data-testid="undo-delete">
                Undo
              </button>
            </p>
          )}
        </div>
      )}
      {plan && (
        <div className="panel" data-testid="delete-plan">
          <strong>
            Move {plan.length} {plan.length === 1 ? 'image' : 'images'} to the trash?
          </strong>{' '}
          The best of each group stays. Until the trash is emptied, this can be undone.
          <ul className="uploads">
            {plan.map((i) => (
              <li key={i.id} data-testid="plan-item" data-image-id={i.id}>
                {i.originalName ?? `#${i.id}`} · {i.width}×{i.height} · {kib(i.byteSize)}
              </li>
            ))}
          </ul>
          <div className="row">
            <button className="primary" onClick={() => void confirm()} data-testid="confirm-delete">
              Move {plan.length} to the trash
            </button>
            <button onClick={() => setPlan(null)} data-testid="cancel-plan">
              Cancel
            </button>
          </div>
        </div>
      )}
      {review && review.groups.length > 0 && (
        <div className="row">
          <button onClick={() => setPlan(removable(review.groups))} data-testid="keep-best-all" disabled={!!plan}>
            Keep the best in all {review.groups.length} groups
          </button>
          <span className="muted small">best: the largest resolution, then the largest file</span>
        </div>
      )}
      {review?.groups.map((group) => (
        <section key={group.keep} className="panel" data-testid="dup-group">
          <div className="row">
            <strong>{group.images.length} images</strong>
            <span className="muted small">largest distance {group.maxDistance.toPrecision(3)}</span>
            <button onClick={() => setPlan(removable([group]))} data-testid="keep-best-group" disabled={!!plan}>
              Keep the best
            </button>
          </div>
          <ul className="grid">
            {group.images.map((image) => (
              <ImageCell key={image.id} image={image} keep={image.id === group.keep} />
            ))}
          </ul>
        </section>
      ))}
      <h2>Trash</h2>
      <div className="row" data-testid="trash">
        <span data-testid="trash-count">{trash ? `${trash.total} images in the trash` : '…'}</span>
        {trash && trash.total > 0 && (
          <>
            <button onClick={() => void restoreAll()} data-testid="restore-all">
              Restore all
            </button>
            <button className="danger" onClick={() => void empty()} data-testid="empty-trash">
              Empty the trash (delete {trash.total} for good)
            </button>
          </>
        )}
      </div>
    </>
  );
}
