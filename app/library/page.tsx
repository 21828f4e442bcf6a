'use client';
/** The library: every stored image (paged), bulk upload with per-file progress and a summary of refusals, the sample set, delete. */
import { useState } from 'react';
import { api, usePoll, waitForJob, type Job, type Status } from '@/app/_components/api';
import { CreditsPanel } from '@/app/_components/credits';
import { Dropzone, relativePath } from '@/app/_components/dropzone';
import { Pager, useCursorPages } from '@/app/_components/pager';
import { ImageFilters } from '@/app/_components/filters';
import { ImageGrid } from '@/app/_components/image-grid';
import { NextSteps } from '@/app/_components/next-steps';
import { isCreditFile } from '@/lib/credit-files';
import type { Credits } from '@/lib/services/credits';
import type { LibraryPage as Page } from '@/lib/services/image-service';
import type { UploadResult } from '@/lib/services/ingest-service';

const PAGE = 60;

interface Upload {
  name: string;
  /** 0..1 of the bytes sent. */
  sent: number;
  status: 'waiting' | 'uploading' | UploadResult['status'];
  reason?: string;
}

/** One file, with upload progress (XMLHttpRequest reports it; fetch does not). */
function uploadOne(
  file: File,
  modality: string,
  onProgress: (sent: number) => void,
): Promise<{ status: Upload['status']; reason?: string }> {
  return new Promise((resolve) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/images');
    xhr.upload.onprogress = (e) => e.lengthComputable && onProgress(e.loaded / e.total);
    xhr.onload = () => {
      const body = JSON.parse(xhr.responseText || '{}') as { results?: UploadResult[]; error?: { message: string } };
      const first = body.results?.[0];
      if (first) resolve(first.status === 'refused' ? { status: first.status, reason: first.reason } : { status: first.status });
      else resolve({ status: 'refused', reason: body.error?.message ?? `HTTP ${xhr.status}` });
    };
    xhr.onerror = () => resolve({ status: 'refused', reason: 'the connection failed' });
    const form = new FormData();
    form.append('modality', modality);
    form.append('file', file, relativePath(file));
    xhr.send(form);
  });
}

export default function LibraryPage() {
  const pages = useCursorPages();
  const [modality, setModality] = useState('');
  const [label, setLabel] = useState('');
  const [uploadModality, setUploadModality] = useState('photo');
  const [uploads, setUploads] = useState<Upload[]>([]);
  /** The credits files (ATTRIBUTION.md, LICENSE…) of an added folder: not images, so not sent. */
  const [skipped, setSkipped] = useState<string[]>([]);
  const [sampleJob, setSampleJob] = useState<Job | null>(null);
  const query = `/api/images?limit=${PAGE}${pages.cursor ? `&cursor=${pages.cursor}` : ''}${modality ? `&modality=${modality}` : ''}${label ? `&label=${encodeURIComponent(label)}` : ''}`;
  const { data, refresh } = usePoll(() => api<Page>(query), 5000, [query]);
  const { data: status } = usePoll(() => api<Status>('/api/status'), 3000);
  const { data: samples } = usePoll(() => api<{ credits: Credits[] }>('/api/samples'), 0);

  const upload = async (chosen: File[]) => {
    setSkipped(chosen.filter((f) => isCreditFile(relativePath(f))).map(relativePath));
    const files = chosen.filter((f) => !isCreditFile(relativePath(f)));
    const list: Upload[] = files.map((f) => ({ name: relativePath(f), sent: 0, status: 'waiting' }));
    setUploads(list);
    const update = (i: number, patch: Partial<Upload>) => setUploads((u) => u.map((x, j) => (j === i ? { ...x, ...patch } : x)));
    let next = 0;
    const worker = async () => {
      while (next < files.length) {
        const i = next++;
        update(i, { status: 'uploading' });
        const result = await uploadOne(files[i]!, uploadModality, (sent) => update(i, { sent }));
        update(i, { ...result, sent: 1 });
      }
    };
    await Promise.all([worker(), worker()]);
    refresh();
  };

  const loadSamples = async () => {
    const { job } = await api<{ job: Job }>('/api/samples', { method: 'POST' });
    setSampleJob(job);
    await waitForJob(job.id, (j) => {
      setSampleJob(j);
      refresh();
    });
  };

  const remove = async (id: number) => {
    await api(`/api/images/${id}`, { method: 'DELETE' });
    refresh();
  };

  const counts = {
    added: uploads.filter((u) => u.status === 'added').length,
    duplicate: uploads.filter((u) => u.status === 'duplicate').length,
    refused: uploads.filter((u) => u.status === 'refused'),
    pending: uploads.filter((u) => u.status === 'waiting' || u.status === 'uploading').length,
  };

  return (
    <>
      <h1>Library</h1>
      <p className="lead">Everything stored: {data ? `${data.total.toLocaleString()} images` : '…'}.</p>
      <NextSteps status={status} />
      <div className="row">
        <button
          className="primary"
          onClick={() => void loadSamples()}
          disabled={sampleJob?.state === 'running' || sampleJob?.state === 'queued'}
          data-testid="load-samples"
        >
          Load the sample set (100 flower photos)
        </button>
        {sampleJob && (
          <span className="muted small" data-testid="samples-state">
            sample set: {sampleJob.state}
            {sampleJob.progress.total ? ` (${sampleJob.progress.done}/${sampleJob.progress.total})` : ''}
          </span>
        )}
      </div>
      {samples && <CreditsPanel credits={samples.credits} title="Sample set credits (photographers, licence)" testId="sample-credits" />}
      <h2>Add images</h2>
      <div className="row">
        <label>
          these are
          <select value={uploadModality} onChange={(e) => setUploadModality(e.target.value)} data-testid="upload-modality">
            <option value="photo">photos</option>
            <option value="xray">X-rays</option>
          </select>
        </label>
        <span className="muted small">
          JPEG, PNG, WebP, TIFF (8/16-bit), GIF, AVIF, DICOM — up to 50 MiB each. DICOM is recognised by itself.
        </span>
      </div>
      <Dropzone onFiles={(f) => void upload(f)} multiple folder testId="library-drop">
        Drop images or a folder here, or
      </Dropzone>
      {(uploads.length > 0 || skipped.length > 0) && (
        <div className="panel" data-testid="upload-summary">
          <strong>
            {counts.pending ? `Uploading… ${uploads.length - counts.pending}/${uploads.length}` : `Done: ${uploads.length} files`}
          </strong>{' '}
          <span data-testid="upload-counts">
            {counts.added} added, {counts.duplicate} already stored, {counts.refused.length} refused
          </span>
          {skipped.length > 0 && (
            <p className="muted small" data-testid="upload-skipped">
              Not sent, the folder&apos;s credits rather than images: {skipped.join(', ')}
            </p>
          )}
          {counts.refused.length > 0 && (
            <ul className="uploads" data-testid="refused-list">
              {counts.refused.map((u, i) => (
                <li key={i} className="error" data-testid="refused-file">
                  <strong>{u.name}</strong> {u.reason}
                </li>
              ))}
            </ul>
          )}
          <ul className="uploads">
            {uploads.map((u, i) => (
              <li key={i} data-testid="upload-row" data-status={u.status}>
                <progress max={1} value={u.sent} style={{ width: 120 }} />
                <span>{u.name}</span>
                <span className={u.status === 'refused' ? 'error' : 'muted'}>{u.status}</span>
              </li>
            ))}
          </ul>
        </div>
      )}
      <h2>Stored images</h2>
      <div className="row">
        <ImageFilters
          modality={modality}
          label={label}
          labels={data?.labels}
          testId="library"
          onChange={(change) => {
            if (change.modality !== undefined) setModality(change.modality);
            if (change.label !== undefined) setLabel(change.label);
            pages.reset();
          }}
        />
      </div>
      {data && (
        <>
          <ImageGrid
            testId="library-grid"
            items={data.images.map((image) => ({
              image,
              note: `${image.modality} · ${image.width}×${image.height}`,
              action: (
                <button className="link danger" onClick={() => void remove(image.id)} data-testid="delete-image">
                  delete
                </button>
              ),
            }))}
          />
          <Pager pages={pages} page={PAGE} shown={data.images.length} total={data.total} nextCursor={data.nextCursor} />
        </>
      )}
    </>
  );
}
