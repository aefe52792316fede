/** Cursor paging: first page, previous, next, with "1–50 of 100,000". */
import { formatCount } from '../format';

export function Pager(props: {
  from: number;
  shown: number;
  total: number;
  hasPrevious: boolean;
  hasNext: boolean;
  onFirst: () => void;
  onPrevious: () => void;
  onNext: () => void;
}) {
  const range = () => (props.shown === 0 ? '0' : `${formatCount(props.from)}–${formatCount(props.from + props.shown - 1)}`);
  return (
    <nav class="pager" aria-label="Pages">
      <span class="pager-range">
        {range()} of {formatCount(props.total)}
      </span>
      <button type="button" class="btn btn-small" disabled={!props.hasPrevious} onClick={() => props.onFirst()}>
        « First
      </button>
      <button type="button" class="btn btn-small" disabled={!props.hasPrevious} onClick={() => props.onPrevious()}>
        ‹ Previous
      </button>
      <button type="button" class="btn btn-small" disabled={!props.hasNext} onClick={() => props.onNext()}>
        Next ›
      </button>
    </nav>
  );
}
