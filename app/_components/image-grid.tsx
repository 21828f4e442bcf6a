'use client';
/** A grid of stored images as thumbnails, each opening its page, with an optional score and action. */
import Link from 'next/link';
import type { ReactNode } from 'react';
import type { ImageRecord } from './api';

export interface GridItem {
  image: Pick<ImageRecord, 'id' | 'originalName' | 'labels'> & Partial<ImageRecord>;
  /** Shown under the thumbnail (a similarity, a distance). */
  note?: string;
  action?: ReactNode;
}

export function ImageGrid({ items, testId = 'image-grid' }: { items: GridItem[]; testId?: string }) {
  return (
    <ul className="grid" data-testid={testId}>
      {items.map(({ image, note, action }) => (
        <li key={image.id} className="card" data-testid="grid-item" data-image-id={image.id}>
          <Link href={`/images/${image.id}`} title={image.originalName ?? `image ${image.id}`} data-testid="open-image">
            <img
              src={`/api/images/${image.id}/thumbnail`}
              alt={image.originalName ?? `image ${image.id}`}
              loading="lazy"
              width={160}
              height={160}
            />
          </Link>
          <div className="card-meta">
            <span className="name">{image.originalName ?? `#${image.id}`}</span>
            {note && (
              <span className="score" data-testid="score">
                {note}
              </span>
            )}
            {image.labels.length > 0 && <span className="tag">{image.labels.join(', ')}</span>}
            {action}
          </div>
        </li>
      ))}
    </ul>
  );
}
