'use client';
/** Segment: upload a photo, see the predicted mask over it (opacity slider) and the share of the picture it covers. */
import Link from 'next/link';
import { useState } from 'react';
import { api, usePoll } from '@/app/_components/api';
import { Dropzone } from '@/app/_components/dropzone';
import type { SegmentationOverlay, SegmentationOverview } from '@/lib/services/segmentation-service';

/** The server's overlay, its PNG sent as a data URL. */
type Result = Omit<SegmentationOverlay, 'overlay'> & { overlay: string };

export default function SegmentPage() {
  const { data } = usePoll(() => api<SegmentationOverview>('/api/segmentation/models'), 0);
  const [model, setModel] = useState('');
  const [image, setImage] = useState<string | null>(null);
  const [result, setResult] = useState<Result | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [opacity, setOpacity] = useState(0.6);

  const segment = async (files: File[]) => {
    const file = files[0]!;
    setImage(URL.createObjectURL(file));
    setResult(null);
    setError(null);
    const form = new FormData();
    if (model) form.append('model', model);
    form.append('file', file);
    try {
      setResult(await api<Result>('/api/segment', { method: 'POST', body: form }));
    } catch (e) {
      setError((e as Error).message);
    }
  };

  return (
    <>
      <h1>Segment</h1>
      <p className="lead">
        An encoder-decoder with skip connections marks, pixel by pixel, what it was trained to find (person vs background on the bundled
        COCO set).
      </p>
      {data && data.models.length === 0 && (
        <div className="hint" data-testid="hint-no-segmenter">
          <p>
            No segmentation model yet. Train one on image/mask folders from the command line: <code>npm run train:seg</code> (the bundled
            COCO person masks by default; a few minutes on 2 cores). Its numbers then appear on the <Link href="/models">Models</Link> page.
          </p>
        </div>
      )}
      {data && data.models.length > 0 && (
        <div className="row panel">
          <label>
            model
            <select value={model} onChange={(e) => setModel(e.target.value)} data-testid="segment-model">
              <option value="">newest</option>
              {data.models.map((m) => (
                <option key={m.name} value={m.name}>
                  {m.name}
                  {m.training?.test ? ` (test mIoU ${m.training.test.miou.toFixed(3)})` : ''}
                </option>
              ))}
            </select>
          </label>
          <label>
            mask opacity
            <input
              type="range"
              min={0}
              max={1}
              step={0.05}
              value={opacity}
              onChange={(e) => setOpacity(Number(e.target.value))}
              data-testid="mask-opacity"
            />
          </label>
        </div>
      )}
      <Dropzone onFiles={(f) => void segment(f)} testId="segment-drop">
        Drop a photo here, paste one, or
      </Dropzone>
      {error && (
        <p className="error" data-testid="segment-error">
          {error}
        </p>
      )}
      {image && (
        <div className="panel">
          <div style={{ position: 'relative', display: 'inline-block', maxWidth: '100%' }} data-testid="segment-view">
            <img src={image} alt="uploaded" style={{ display: 'block', maxWidth: '100%' }} />
            {result && (
              <img
                src={result.overlay}
                alt="predicted mask"
                data-testid="segment-overlay"
                style={{ position: 'absolute', inset: 0, width: '100%', height: '100%', opacity }}
              />
            )}
          </div>
          {result && (
            <p>
              Mask covers <strong data-testid="segment-area">{(result.areaFraction * 100).toFixed(1)}%</strong> of the picture (
              {result.width}×{result.height}, model {result.model}).
            </p>
          )}
        </div>
      )}
    </>
  );
}
