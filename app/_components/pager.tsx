'use client';
/**
 * Previous / next through a long list by keyset cursors: the API hands out the cursor of the next
 * page, and the pages seen so far are remembered here so "previous" can go back.
 */
import { useCallback, useState } from 'react';

/** The cursor of the page shown (null: the first) and how to move; `reset` when the filters change. */
export function useCursorPages() {
  const [trail, setTrail] = useState<string[]>([]);
  return {
    cursor: trail[trail.length - 1] ?? null,
    index: trail.length,
    next: useCallback((cursor: string) => setTrail((t) => [...t, cursor]), []),
    previous: useCallback(() => setTrail((t) => t.slice(0, -1)), []),
    reset: useCallback(() => setTrail([]), []),
  };
}

export function Pager({
  pages,
  page,
  shown,
  total,
  nextCursor,
}: {
  pages: ReturnType<typeof useCursorPages>;
  page: number;
  shown: number;
  total: number;
  nextCursor: string | number | null;
}) {
  const first = pages.index * page;
  return (
    <div className="pager">
      <button disabled={pages.index === 0} onClick={pages.previous}>
        previous
      </button>
      <span className="muted">{total ? `${first + 1}–${first + shown} of ${total}` : 'none'}</span>
      <button disabled={nextCursor === null} onClick={() => nextCursor !== null && pages.next(String(nextCursor))}>
        next
      </button>
    </div>
  );
}
