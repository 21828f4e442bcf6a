'use client';
/**
 * One image: the original, its latent vector and its reconstruction side by side with the error;
 * add noise and see what the model makes of it; its nearest neighbours; a walk through the latent
 * space to a second image; labels and delete.
 */
import Link from 'next/link';
import { useParams, useRouter } from 'next/navigation';
import { useEffect, useState } from 'react';
import { api, usePoll, type ImageRecord, type SearchResult } from '@/app/_components/api';
import { LatentBars } from '@/app/_components/charts';
import { ImageGrid } from '@/app/_components/image-grid';
import type { Reconstruction as ServerReconstruction } from '@/lib/services/reconstruction-service';

/** The server's reconstruction, its PNGs sent as data URLs, with the noise it was asked for. */
type Reconstruction = Omit<ServerReconstruction, 'input' | 'output'> & { noise: number; input: string; output: string };

export default function ImagePage() {
  // Null only under the Pages Router; this page is an App Router page.
  const { id } = useParams<{ id: string }>() ?? { id: '' };
  const router = useRouter();
  const { data: image, error } = usePoll(() => api<ImageRecord>(`/api/images/${id}`), 0, [id]);
  const [noise, setNoise] = useState(0);
  const [recon, setRecon] = useState<Reconstruction | null>(null);
  const [reconError, setReconError] = useState<string | null>(null);
  const [neighbors, setNeighbors] = useState<SearchResult | null>(null);
  const [walkTo, setWalkTo] = useState<number | null>(null);
  const [labels, setLabels] = useState('');

  useEffect(() => {
    // One answer per slider position: a newer position aborts the older request, so an answer that
    // arrives late can never replace the one asked for last.
    const controller = new AbortController();
    const timer = setTimeout(() => {
      api<Reconstruction>(`/api/images/${id}/reconstruction?noise=${noise}`, { signal: controller.signal }).then(
        (r) => {
          if (controller.signal.aborted) return;
          setRecon(r);
          setReconError(null);
        },
        (e: Error) => {
          if (!controller.signal.aborted) setReconError(`The reconstruction at noise σ = ${noise} failed: ${e.message}`);
        },
      );
    }, 150);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [id, noise]);
  useEffect(() => {
    api<SearchResult>(`/api/images/${id}/neighbors?k=12`).then(setNeighbors, () => setNeighbors(null));
  }, [id]);
  useEffect(() => {
    if (image) setLabels(image.labels.join(', '));
  }, [image]);

  if (error)
    return (
      <p className="error" data-testid="image-error">
        {error}
      </p>
    );
  if (!image) return <p className="muted">…</p>;

  const saveLabels = async () => {
    const list = labels
      .split(',')
      .map((l) => l.trim())
      .filter(Boolean);
    await api(`/api/images/${id}`, { method: 'PATCH', json: { labels: list } });
  };
  const remove = async () => {
    if (!window.confirm('Delete this image from the library?')) return;
    await api(`/api/images/${id}`, { method: 'DELETE' });
    router.push('/library');
  };

  return (
    <>
      <h1 data-testid="image-title">{image.originalName ?? `Image ${image.id}`}</h1>
      <p className="lead">
        #{image.id} · {image.modality}
        {image.modality === 'dicom' ? ' (window/level applied)' : ''} · {image.format} · {image.width}×{image.height} ·{' '}
        {(image.byteSize / 1024).toFixed(0)} KiB ·{' '}
        <a href={`/api/images/${image.id}/original`} style={{ textDecoration: 'underline' }}>
          download original
        </a>
      </p>
      {image.metadata.patientIdentityRemoved === 'YES' && (
        <p className="panel small" data-testid="deidentified">
          De-identified on import: patient, people, places, dates and private tags were removed or replaced in the stored file (
          {String(image.metadata.deidentificationMethod ?? 'DICOM PS3.15 basic profile')}); the download carries none of them.
        </p>
      )}
      <div className="triptych">
        <figure data-testid="original">
          <img src={`/api/images/${image.id}/view`} alt="original" style={{ imageRendering: 'auto' }} />
          <figcaption>original</figcaption>
        </figure>
        <figure data-testid="model-input">
          {recon ? <img src={recon.input} alt="what the model sees" /> : <div className="muted">…</div>}
          <figcaption>
            what the model sees{recon && recon.noise > 0 ? ` (noise σ = ${recon.noise})` : ''}
            {recon && recon.noise !== noise && !reconError && <span className="muted"> · updating…</span>}
          </figcaption>
        </figure>
        <figure data-testid="reconstruction">
          {recon ? <img src={recon.output} alt="reconstruction" /> : <div className="muted">…</div>}
          <figcaption>
            reconstruction
            {recon && (
              <>
                {' '}
                · error <span data-testid="reconstruction-error">{recon.error.toFixed(5)}</span>
              </>
            )}
          </figcaption>
        </figure>
      </div>
      {reconError && (
        <p className="error" role="alert" data-testid="reconstruction-failed">
          {reconError}
        </p>
      )}
      <div className="panel row">
        <label title="Gaussian noise added to the model's input: a denoising model removes it">
          add noise
          <input
            type="range"
            min={0}
            max={0.6}
            step={0.05}
            value={noise}
            onChange={(e) => setNoise(Number(e.target.value))}
            data-testid="noise-slider"
          />
          <span className="muted small">σ = {noise.toFixed(2)}</span>
        </label>
      </div>
      {recon && (
        <>
          <h2>Latent vector ({recon.latent.length} dimensions)</h2>
          <LatentBars latent={recon.latent} />
        </>
      )}
      {neighbors && neighbors.hits.length > 0 && (
        <>
          <h2>Nearest neighbours</h2>
          <ImageGrid
            testId="neighbors"
            items={neighbors.hits.map((h) => ({
              image: h.image,
              note: `distance ${h.distance.toFixed(3)}`,
              action: (
                <button className="link" onClick={() => setWalkTo(h.image.id)} data-testid="walk-to">
                  walk to this one
                </button>
              ),
            }))}
          />
        </>
      )}
      <h2>Walk through the latent space</h2>
      <div className="panel">
        <div className="row">
          <label>
            to image #
            <input
              type="number"
              min={1}
              value={walkTo ?? ''}
              onChange={(e) => setWalkTo(Number(e.target.value) || null)}
              data-testid="walk-target"
            />
          </label>
          <span className="muted small">images decoded from evenly spaced points on the line between the two latent vectors</span>
        </div>
        {walkTo && (
          <div className="walk">
            <img
              src={`/api/walk?from=${image.id}&to=${walkTo}&steps=8`}
              alt={`latent walk from ${image.id} to ${walkTo}`}
              data-testid="walk-strip"
            />
          </div>
        )}
      </div>
      <h2>Labels</h2>
      <div className="panel row">
        <input
          type="text"
          value={labels}
          onChange={(e) => setLabels(e.target.value)}
          placeholder="comma-separated"
          data-testid="labels-input"
        />
        <button onClick={() => void saveLabels()}>save labels</button>
        <button className="danger" onClick={() => void remove()}>
          delete image
        </button>
        <Link href="/library">back to the library</Link>
      </div>
    </>
  );
}
