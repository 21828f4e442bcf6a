'use client';
/** What to do next on an empty or model-less library: the page's own hints from empty to searchable. */
import Link from 'next/link';
import type { Status } from './api';

export function NextSteps({ status }: { status: Status | null }) {
  if (!status) return null;
  if (status.images === 0)
    return (
      <div className="hint" data-testid="hint-empty">
        <p>
          <strong>Your library is empty.</strong> Add your own photos or X-rays on the <Link href="/library">Library</Link> page, or load
          the bundled sample set (100 flower photographs) with one click there.
        </p>
      </div>
    );
  if (!status.model)
    return (
      <div className="hint" data-testid="hint-no-model">
        <p>
          <strong>No model yet.</strong> {status.images} images are stored. Train an autoencoder on them on the{' '}
          <Link href="/models">Models</Link> page (about a minute for the sample set); then search and clustering work.
        </p>
      </div>
    );
  if (status.model.embedded < status.images)
    return (
      <div className="hint" data-testid="hint-embedding">
        <p>
          {status.model.embedded} of {status.images} images are embedded under the active model; the rest follow as soon as the running job
          finishes.
        </p>
      </div>
    );
  return null;
}
