'use client';
/** Previous / next through a long list, with where the page is. */
export function Pager({
  offset,
  page,
  total,
  onChange,
}: {
  offset: number;
  page: number;
  total: number;
  onChange: (offset: number) => void;
}) {
  return (
    <div className="pager">
      <button disabled={offset === 0} onClick={() => onChange(Math.max(0, offset - page))}>
        previous
      </button>
      <span className="muted">{total ? `${offset + 1}–${Math.min(offset + page, total)} of ${total}` : 'none'}</span>
      <button disabled={offset + page >= total} onClick={() => onChange(offset + page)}>
        next
      </button>
    </div>
  );
}
