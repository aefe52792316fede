/**
 * View state lives in the URL (filters, search, tab, page), so that a link opens the same view.
 * Paging is by cursor: `after`/`before` plus `from`, the row number the page starts at.
 */
import { useSearchParams } from '@solidjs/router';

export type Params = Record<string, string | undefined>;

/** One string param: "" and undefined both mean unset. */
export function param(params: Params, key: string): string | undefined {
  const value = params[key];
  return value === undefined || value === '' ? undefined : value;
}

export function useViewParams() {
  const [params, setParams] = useSearchParams<Params>();
  /** Changing a filter starts again at the first page. */
  const setFilter = (changes: Params) =>
    setParams({
      ...Object.fromEntries(Object.entries(changes).map(([k, v]) => [k, v === '' ? undefined : v])),
      after: undefined,
      before: undefined,
      from: undefined,
    });
  return { params, setParams, setFilter };
}

export interface PageInfo {
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  startCursor?: string | null;
  endCursor?: string | null;
}

export function pageVariables(params: Params, size: number) {
  const before = param(params, 'before');
  if (before) return { last: size, before, first: null, after: null };
  return { first: size, after: param(params, 'after') ?? null, last: null, before: null };
}

/** Props for <Pager> from the URL and the connection just loaded. */
export function pagerProps(params: Params, setParams: (p: Params) => void, page: { pageInfo: PageInfo; shown: number; total: number }, size: number) {
  const from = Math.max(1, Number(param(params, 'from') ?? 1) || 1);
  const atStart = from <= 1 && !param(params, 'before') && !param(params, 'after');
  return {
    from,
    shown: page.shown,
    total: page.total,
    hasPrevious: !atStart && (page.pageInfo.hasPreviousPage || from > 1 || !!param(params, 'after')),
    hasNext: page.pageInfo.hasNextPage,
    onFirst: () => setParams({ after: undefined, before: undefined, from: undefined }),
    onPrevious: () =>
      from - size <= 1
        ? setParams({ after: undefined, before: undefined, from: undefined })
        : setParams({ before: page.pageInfo.startCursor ?? undefined, after: undefined, from: String(from - size) }),
    onNext: () => setParams({ after: page.pageInfo.endCursor ?? undefined, before: undefined, from: String(from + page.shown) }),
  };
}

/** The CSV export of a job's tab with its searches (server/src/http/export.ts reads the same names as the API). */
export function jobExportHref(
  jobId: string,
  view: { status?: string; deviceKey?: string; currentVersion?: string; failureReason?: string; failedAfter?: string; failedBefore?: string },
): string {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(view)) if (value) query.set(name, value);
  const text = query.toString();
  return `/export/jobs/${encodeURIComponent(jobId)}/devices.csv${text ? `?${text}` : ''}`;
}

/** The CSV export of the Devices page with its filters. */
export function devicesExportHref(filters: { productKey?: string; search?: string; online?: boolean | null }): string {
  const query = new URLSearchParams();
  if (filters.productKey) query.set('productKey', filters.productKey);
  if (filters.search) query.set('search', filters.search);
  if (filters.online !== undefined && filters.online !== null) query.set('online', String(filters.online));
  const text = query.toString();
  return `/export/devices.csv${text ? `?${text}` : ''}`;
}
