'use client';
/** Import a folder on this machine: under the operator's import roots only, as a job with live progress, refusals and cancel. */
import { useState, type FormEvent } from 'react';
import { api, usePoll, waitForJob, type Job } from '@/app/_components/api';
import { JobProgress } from '@/app/_components/job-progress';
import type { ImportSettings } from '@/lib/services/import-service';

interface ImportResult {
  added: number;
  duplicates: number;
  refused: { name: string; reason: string; code: string }[];
}

export default function ImportPage() {
  const { data: settings } = usePoll(() => api<ImportSettings>('/api/import'), 0);
  const [folder, setFolder] = useState('');
  const [recursive, setRecursive] = useState(true);
  const [modality, setModality] = useState<'photo' | 'xray'>('photo');
  const [labelFromFolder, setLabelFromFolder] = useState(false);
  const [job, setJob] = useState<Job | null>(null);
  const [error, setError] = useState<string | null>(null);
  const running = job?.state === 'queued' || job?.state === 'running';

  const start = async (event: FormEvent) => {
    event.preventDefault();
    setError(null);
    try {
      const queued = (await api<{ job: Job }>('/api/import', { json: { folder, recursive, modality, labelFromFolder } })).job;
      setJob(queued);
      await waitForJob(queued.id, setJob);
    } catch (e) {
      setError((e as Error).message);
    }
  };

  const result = job?.state === 'succeeded' ? (job.result as ImportResult) : null;
  return (
    <>
      <h1>Import a folder on this machine</h1>
      <p className="lead">
        For collections already on the server: the files are read where they are, without uploading them through the browser. DICOM is
        stored de-identified.
      </p>
      {settings && !settings.enabled && (
        <p className="panel" data-testid="import-off">
          Server-side import is off. To turn it on, set <code>LATENT_ATLAS_IMPORT_ROOTS</code> to the folders this server may import from
          (absolute paths separated by <code>:</code>) and restart Latent Atlas.
        </p>
      )}
      {settings?.enabled && (
        <>
          <p className="muted small" data-testid="import-roots">
            Folders under {settings.roots.map((r) => `${r}`).join(', ')} may be imported; paths that lead elsewhere (by <code>..</code> or a
            symbolic link) are refused.
          </p>
          <form className="panel" onSubmit={(e) => void start(e)} data-testid="import-form">
            <div className="row">
              <label style={{ flex: '1 1 100%' }}>
                folder on this machine{' '}
                <input
                  type="text"
                  value={folder}
                  onChange={(e) => setFolder(e.target.value)}
                  placeholder={settings.roots[0]}
                  style={{ width: '100%', maxWidth: '40rem' }}
                  required
                  data-testid="import-folder"
                />
              </label>
            </div>
            <div className="row">
              <label>
                <input
                  type="checkbox"
                  checked={recursive}
                  onChange={(e) => setRecursive(e.target.checked)}
                  data-testid="import-recursive"
                />{' '}
                include sub-folders
              </label>
              <label>
                these are
                <select value={modality} onChange={(e) => setModality(e.target.value as 'photo' | 'xray')} data-testid="import-modality">
                  <option value="photo">photos</option>
                  <option value="xray">X-rays</option>
                </select>
              </label>
              <label>
                <input
                  type="checkbox"
                  checked={labelFromFolder}
                  onChange={(e) => setLabelFromFolder(e.target.checked)}
                  data-testid="import-label-from-folder"
                />{' '}
                label each image with its folder&apos;s name
              </label>
              <button className="primary" type="submit" disabled={running || !folder.trim()} data-testid="import-start">
                Import
              </button>
            </div>
          </form>
        </>
      )}
      {error && (
        <p className="error" role="alert" data-testid="import-error">
          {error}
        </p>
      )}
      {job && (
        <div data-testid="import-job" data-state={job.state}>
          <JobProgress job={job} />
          {running && job.progress.total !== undefined && (
            <p className="muted small" data-testid="import-progress">
              {job.progress.done ?? 0} of {job.progress.total} files · {job.progress.message}
            </p>
          )}
          {job.state === 'cancelled' && <p data-testid="import-cancelled">Cancelled: the images added before it stopped are kept.</p>}
        </div>
      )}
      {result && (
        <div className="panel" data-testid="import-summary">
          <strong>Done:</strong>{' '}
          <span data-testid="import-counts">
            {result.added} added, {result.duplicates} already stored, {result.refused.length} refused
          </span>
          {result.refused.length > 0 && (
            <ul className="uploads" data-testid="import-refused">
              {result.refused.map((r) => (
                <li key={r.name} className="error" data-testid="import-refused-file">
                  <strong>{r.name}</strong> {r.reason}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </>
  );
}
