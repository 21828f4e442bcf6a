'use client';
/** Models: what is trained (spec, curves, errors), train a new one with live progress, activate one. */
import { useState } from 'react';
import { api, usePoll, waitForJob, type Job, type Status } from '@/app/_components/api';
import { LossChart } from '@/app/_components/charts';
import { JobProgress } from '@/app/_components/job-progress';
import { NextSteps } from '@/app/_components/next-steps';
import { PRESET_SPECS, PRESET_TRAINING } from '@/lib/models/presets';
import type { SegmentationScores } from '@/lib/segmentation/metrics';
import type { ModelInfo } from '@/lib/services/model-service';
import type { SegmentationOverview } from '@/lib/services/segmentation-service';

interface Form {
  data: 'library' | 'fashion-mnist';
  arch: 'conv' | 'dense';
  size: number;
  channels: 1 | 3;
  latentSize: number;
  filters: string;
  upsampling: 'nearest' | 'bilinear' | 'transposed';
  noise: number;
  sparse: boolean;
  searchHead: boolean;
  /** Weight of the two-view (contrastive) objective; 0 trains the plain autoencoder. */
  twoViews: number;
  epochs: number;
}

/** The form starts from the server's photo-cae preset (a small colour CAE for a photo or X-ray library). */
const PHOTO_CAE = PRESET_SPECS['photo-cae'];
const PHOTO_RECIPE = PRESET_TRAINING['photo-cae'];
const DEFAULT_FORM: Form = {
  data: 'library',
  arch: PHOTO_CAE.arch,
  size: PHOTO_CAE.inputShape[0],
  channels: PHOTO_CAE.inputShape[2],
  latentSize: PHOTO_CAE.latentSize,
  filters: PHOTO_CAE.filters.join(','),
  upsampling: PHOTO_CAE.upsampling,
  noise: 0,
  sparse: false,
  searchHead: true,
  twoViews: PHOTO_CAE.contrastive.weight,
  epochs: PHOTO_RECIPE.epochs,
};

function specOf(f: Form): Record<string, unknown> {
  const inputShape = f.data === 'fashion-mnist' ? [28, 28, 1] : [f.size, f.size, f.channels];
  const common = {
    inputShape,
    latentSize: f.latentSize,
    ...(f.noise > 0 ? { denoising: { noiseFactor: f.noise } } : {}),
    ...(f.sparse ? { sparse: { rho: 0.05, beta: 3 }, latentActivation: 'sigmoid' } : {}),
    ...(f.searchHead ? { embedding: f.data === 'fashion-mnist' ? {} : PHOTO_CAE.embedding } : {}),
    // Fashion-MNIST is grey garments: crop-and-flip views; a library gets the preset's photo views.
    ...(f.twoViews > 0
      ? { contrastive: { ...PHOTO_CAE.contrastive, weight: f.twoViews, ...(f.data === 'fashion-mnist' ? { views: 'garment' } : {}) } }
      : {}),
  };
  if (f.arch === 'dense') return { arch: 'dense', hidden: [256], ...common };
  const { contrastive: _presetViews, embedding: _presetHead, ...photoCae } = PHOTO_CAE;
  return {
    ...photoCae,
    filters: f.filters
      .split(',')
      .map((s) => Number(s.trim()))
      .filter((n) => n > 0),
    upsampling: f.upsampling,
    ...common,
  };
}

function SegmentationModels() {
  const { data } = usePoll(() => api<SegmentationOverview>('/api/segmentation/models'), 0);
  if (!data || (data.models.length === 0 && !data.comparison)) return null;
  const row = (name: string, s: SegmentationScores) => (
    <tr key={name}>
      <td>{name}</td>
      <td>{s.miou.toFixed(3)}</td>
      <td>{s.mmse.toFixed(3)}</td>
      <td>{s.pixel_acc.toFixed(3)}</td>
    </tr>
  );
  return (
    <>
      <h2>Segmentation models</h2>
      <div className="panel" data-testid="segmentation-models">
        <table>
          <thead>
            <tr>
              <th>model</th>
              <th>test mean IoU</th>
              <th>mean squared error</th>
              <th>pixel accuracy</th>
            </tr>
          </thead>
          <tbody>
            {data.models
              .filter((m) => m.training?.test)
              .map((m) =>
                row(`${m.name} (${m.training!.trainPairs} training pairs, ${Math.round(m.training!.seconds)} s)`, m.training!.test!),
              )}
          </tbody>
        </table>
        {data.comparison && (
          <>
            <p className="muted small">
              Latest npm run eval:seg ({data.comparison.test_pairs} test pairs, {new Date(data.comparison.measuredAt).toLocaleString()}):
            </p>
            <table data-testid="segmentation-comparison">
              <tbody>
                {row('with skip connections', data.comparison.model)}
                {row('without skip connections', data.comparison.no_skip)}
                {row('every pixel the majority class', data.comparison.baseline)}
              </tbody>
            </table>
          </>
        )}
      </div>
    </>
  );
}

export default function ModelsPage() {
  const { data: status } = usePoll(() => api<Status>('/api/status'), 3000);
  const { data, refresh } = usePoll(() => api<{ models: ModelInfo[] }>('/api/models'), 5000);
  const [form, setForm] = useState<Form>(DEFAULT_FORM);
  const [job, setJob] = useState<Job | null>(null);
  const [error, setError] = useState<string | null>(null);
  const set = <K extends keyof Form>(key: K, value: Form[K]) => setForm({ ...form, [key]: value });

  const train = async () => {
    setError(null);
    try {
      const { job: queued } = await api<{ job: Job }>('/api/models', {
        json: { data: form.data, spec: specOf(form), epochs: form.epochs, batchSize: PHOTO_RECIPE.batchSize, activate: true },
      });
      setJob(queued);
      await waitForJob(queued.id, setJob);
      refresh();
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const activate = async (id: number) => {
    const { job: queued } = await api<{ job: Job }>(`/api/models/${id}/activate`, { method: 'POST' });
    setJob(queued);
    await waitForJob(queued.id, setJob);
    refresh();
  };
  const running = job?.state === 'queued' || job?.state === 'running';

  return (
    <>
      <h1>Models</h1>
      <p className="lead">Autoencoders trained on your collection. The active one embeds, searches and clusters the library.</p>
      <NextSteps status={status} />
      <h2>Train a new model</h2>
      <div className="panel">
        <div className="row">
          <label>
            on
            <select value={form.data} onChange={(e) => set('data', e.target.value as Form['data'])} data-testid="train-data">
              <option value="library">the library&apos;s images</option>
              <option value="fashion-mnist">Fashion-MNIST (60,000 28×28 images)</option>
            </select>
          </label>
          <label>
            architecture
            <select value={form.arch} onChange={(e) => set('arch', e.target.value as Form['arch'])} data-testid="train-arch">
              <option value="conv">convolutional</option>
              <option value="dense">dense</option>
            </select>
          </label>
          {form.data === 'library' && (
            <>
              <label>
                input size
                <select value={form.size} onChange={(e) => set('size', Number(e.target.value))}>
                  {[32, 48, 64, 96, 128].map((s) => (
                    <option key={s} value={s}>
                      {s}×{s}
                    </option>
                  ))}
                </select>
              </label>
              <label>
                channels
                <select value={form.channels} onChange={(e) => set('channels', Number(e.target.value) as 1 | 3)}>
                  <option value={3}>colour</option>
                  <option value={1}>greyscale</option>
                </select>
              </label>
            </>
          )}
          <label>
            latent size
            <input
              type="number"
              min={2}
              max={1024}
              value={form.latentSize}
              onChange={(e) => set('latentSize', Number(e.target.value))}
              data-testid="train-latent"
            />
          </label>
        </div>
        <div className="row" style={{ marginTop: 10 }}>
          {form.arch === 'conv' && (
            <>
              <label>
                filters
                <input type="text" value={form.filters} onChange={(e) => set('filters', e.target.value)} size={10} />
              </label>
              <label>
                upsampling
                <select
                  value={form.upsampling}
                  onChange={(e) => set('upsampling', e.target.value as Form['upsampling'])}
                  data-testid="train-upsampling"
                >
                  <option value="nearest">nearest neighbour</option>
                  <option value="bilinear">bilinear</option>
                  <option value="transposed">transposed convolution</option>
                </select>
              </label>
            </>
          )}
          <label title="denoising AE: Gaussian noise of this σ on the training inputs">
            denoising σ
            <input type="number" min={0} max={1} step={0.05} value={form.noise} onChange={(e) => set('noise', Number(e.target.value))} />
          </label>
          <label title="sparse AE: KL penalty pulling mean code activations to 0.05">
            <input type="checkbox" checked={form.sparse} onChange={(e) => set('sparse', e.target.checked)} /> sparse
          </label>
          <label title="search head: codes rotated onto their principal axes, half-whitened and L2-normalised before they are stored and searched (better neighbours and clusters)">
            <input
              type="checkbox"
              data-testid="search-head"
              checked={form.searchHead}
              onChange={(e) => set('searchHead', e.target.checked)}
            />{' '}
            search head
          </label>
          <label title="two-view objective: the codes of two augmented views of a picture (crop, flip, colour changes) are pulled together and kept apart from other pictures', so pictures group by what they show rather than by their colours; 0 turns it off (plain autoencoder)">
            two views
            <input
              type="number"
              min={0}
              max={10}
              step={0.1}
              value={form.twoViews}
              onChange={(e) => set('twoViews', Number(e.target.value))}
              data-testid="train-two-views"
            />
          </label>
          <label>
            epochs
            <input
              type="number"
              min={1}
              max={500}
              value={form.epochs}
              onChange={(e) => set('epochs', Number(e.target.value))}
              data-testid="train-epochs"
            />
          </label>
          <button className="primary" onClick={() => void train()} disabled={running} data-testid="train-start">
            Train
          </button>
        </div>
        {error && (
          <p className="error" data-testid="train-error">
            {error}
          </p>
        )}
        {job && (
          <div data-testid="train-job">
            <JobProgress job={job} onChange={refresh} />
            {job.progress.history && job.progress.history.length > 0 && <LossChart history={job.progress.history} />}
            {job.state === 'succeeded' && (
              <p className="ok" data-testid="train-done">
                Done{job.kind === 'train' ? ': the new model is active and the library is embedded under it.' : '.'}
              </p>
            )}
          </div>
        )}
      </div>
      <h2>Trained models</h2>
      {data && data.models.length === 0 && <p className="muted">None yet.</p>}
      {data?.models.map((m) => (
        <div key={m.id} className="panel" data-testid="model-row" data-active={m.active}>
          <div className="row" style={{ justifyContent: 'space-between' }}>
            <strong>
              {m.name} {m.active && <span className="badge">active</span>}
            </strong>
            {!m.active && (
              <button onClick={() => void activate(m.id)} disabled={running} data-testid="activate-model">
                activate
              </button>
            )}
          </div>
          <p className="muted small">
            {String(m.spec.arch)} · input {(m.spec.inputShape as number[]).join('×')} · latent {m.latentSize}
            {m.spec.filters ? ` · filters ${(m.spec.filters as number[]).join(',')}` : ''}
            {m.spec.upsampling ? ` · ${String(m.spec.upsampling)} upsampling` : ''}
            {m.spec.denoising ? ' · denoising' : ''}
            {m.spec.sparse ? ' · sparse' : ''}
            {m.spec.embedding ? ' · search head' : ''} · trained on {m.training?.images ?? '?'} images ({m.training?.data ?? '?'})
            {m.training?.testMse ? ` · test MSE ${m.training.testMse.toFixed(5)}` : ''}
          </p>
          {m.training?.history && m.training.history.length > 1 && (
            <LossChart history={m.training.history.filter((h) => h.phase !== 'pretrain')} />
          )}
        </div>
      ))}
      <SegmentationModels />
    </>
  );
}
