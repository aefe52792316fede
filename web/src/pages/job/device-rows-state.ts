/**
 * The rows of one page of a job's device tab, kept live (the row state of the device table; the
 * rules themselves are in live/device-rows.ts).
 *
 * Race-free start: the page comes with the job's change cursor as of just before it was read, and
 * the subscription starts from that cursor, so every change the page may lack arrives (at least
 * once), and a row never goes back to an older state. After a dropped connection the subscription
 * resumes from the last cursor, so nothing is missed.
 *
 * A row that left the tab stays where it is, says where it went and shows its current values: when
 * the subscription only names its key (it moved to another tab), its current state is read once
 * (`nodes`, batched for every departure of a moment).
 */
import { createEffect, createMemo, createSignal, on, onCleanup, batch as solidBatch } from 'solid-js';
import { createStore, produce } from 'solid-js/store';
import { client, liveEpoch } from '../../api/client';
import { readFragment } from '../../api/graphql';
import { problemOfError, type ApiProblem } from '../../api/outcome';
import type { FailureReason, UpgradeStatus } from '../../labels';
import { mergeKeys, planBatch, type DeviceRow, type DeviceView, type PageBounds } from '../../live/device-rows';
import { subscribeLive } from '../../live/subscribe';
import { CurrentDeviceRowsQuery, JobDeviceRow, JobDevicesQuery, JobDeviceUpdatesSubscription } from './documents';

export interface RowState extends DeviceRow {
  /** Set when the device left this view after the page was read: where it went (null: not known yet). */
  left?: { status: string | null; removed: boolean };
  /** Arrived live after the page was read (highlighted briefly). */
  arrived?: boolean;
}

export interface PagingVariables {
  first: number | null;
  after: string | null;
  last: number | null;
  before: string | null;
}

export interface BatchData {
  cursor: string;
  devices: DeviceRow[];
  otherDeviceKeys: string[];
  removedDeviceKeys: string[];
}

/** How many rows live inserts may add to a page beyond its size before they are only counted. */
const INSERT_ROOM = 200;

export function createDeviceRows(props: { jobId: string; view: DeviceView; paging: PagingVariables; pageSize: number; pagerFrom: number }) {
  const [rows, setRows] = createStore<{ keys: string[]; byKey: Record<string, RowState> }>({ keys: [], byKey: {} });
  const [pageInfo, setPageInfo] = createSignal({
    hasNextPage: false,
    hasPreviousPage: false,
    startCursor: null as string | null,
    endCursor: null as string | null,
  });
  const [total, setTotal] = createSignal(0);
  const [loaded, setLoaded] = createSignal(false);
  const [problem, setProblem] = createSignal<ApiProblem | null>(null);
  const [liveProblem, setLiveProblem] = createSignal<string | null>(null);
  const [outside, setOutside] = createSignal(0);
  /** Bumped whenever rows leave the view: the actions drop them from what they will act on. */
  const [departures, setDepartures] = createSignal<ReadonlyMap<string, string | null>>(new Map());

  /** Non-reactive mirror of the page for O(1) lookups when a batch arrives. */
  let page = new Map<string, DeviceRow>();
  let generation = 0;
  let cursor: string | null = null;
  let stopLive: (() => void) | undefined;
  onCleanup(() => stopLive?.());

  const bounds = (): PageBounds => {
    const keys = rows.keys;
    const info = pageInfo();
    return {
      firstKey: keys[0] ?? null,
      lastKey: keys[keys.length - 1] ?? null,
      hasPrevious: info.hasPreviousPage || props.pagerFrom > 1,
      hasNext: info.hasNextPage,
    };
  };

  // ── current state of rows that left without their new state ──────────────────────────────
  const unknownDestinations = new Set<string>();
  let refreshTimer: ReturnType<typeof setTimeout> | undefined;
  onCleanup(() => clearTimeout(refreshTimer));
  const refreshDeparted = () => {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(async () => {
      const gen = generation;
      const ids = [...unknownDestinations].map((key) => rows.byKey[key]?.id).filter((id): id is string => !!id);
      unknownDestinations.clear();
      if (ids.length === 0) return;
      const result = await client.query(CurrentDeviceRowsQuery, { ids }, { requestPolicy: 'network-only' }).toPromise();
      if (gen !== generation || !result.data) return;
      const current = result.data.nodes.flatMap((n) => (n && n.__typename === 'JobDevice' ? [readFragment(JobDeviceRow, n) as DeviceRow] : []));
      solidBatch(() => {
        for (const row of current) {
          const state = rows.byKey[row.deviceKey];
          if (!state?.left) continue;
          // Never backwards: a live batch may have brought something newer meanwhile.
          if (Date.parse(row.updatedAt) < Date.parse(state.updatedAt) && state.left.status) continue;
          page.set(row.deviceKey, row);
          setRows('byKey', row.deviceKey, { ...row, left: { status: row.status, removed: false } });
        }
      });
    }, 250);
  };

  const applyBatch = (batch: BatchData) => {
    const plan = planBatch(page, bounds(), props.view, batch, Math.max(0, props.pageSize + INSERT_ROOM - rows.keys.length));
    if (plan.updates.length + plan.departures.size + plan.inserts.length + plan.outside === 0) return;
    solidBatch(() => {
      for (const row of plan.updates) {
        page.set(row.deviceKey, row);
        setRows('byKey', row.deviceKey, { ...row, left: undefined });
      }
      for (const [key, departure] of plan.departures) {
        if (departure.row) page.set(key, departure.row);
        // A key-only note ("changed, no longer in this view") must not erase a destination already
        // known: the operator's own cancel is applied from the mutation's answer, and the live echo of
        // that same change may arrive after it.
        const known = rows.byKey[key]?.left;
        const keyOnly = departure.status === null && !departure.removed && !departure.row;
        const left = keyOnly && known?.status ? known : { status: departure.status, removed: departure.removed };
        setRows('byKey', key, { ...(departure.row ?? {}), left });
        if (keyOnly && !known?.status) unknownDestinations.add(key);
      }
      if (plan.departures.size > 0) {
        setDepartures((current) => {
          const next = new Map(current);
          for (const [key, d] of plan.departures) next.set(key, d.removed ? 'REMOVED' : d.status);
          return next;
        });
      }
      if (plan.inserts.length > 0) {
        setRows(
          produce((state) => {
            for (const row of plan.inserts) {
              page.set(row.deviceKey, row);
              state.byKey[row.deviceKey] = { ...row, arrived: true };
            }
            state.keys = mergeKeys(
              state.keys,
              plan.inserts.map((r) => r.deviceKey),
            );
          }),
        );
        scheduleArrivedClear();
      }
      if (plan.outside > 0) setOutside((n) => n + plan.outside);
    });
    if (unknownDestinations.size > 0) refreshDeparted();
  };

  /** Rows that arrived live are highlighted until the next quiet moment (one timer for all of them). */
  let arrivedTimer: ReturnType<typeof setTimeout> | undefined;
  const scheduleArrivedClear = () => {
    clearTimeout(arrivedTimer);
    arrivedTimer = setTimeout(() => {
      setRows(
        produce((state) => {
          for (const key of state.keys) if (state.byKey[key].arrived) state.byKey[key].arrived = false;
        }),
      );
    }, 2000);
  };
  onCleanup(() => clearTimeout(arrivedTimer));

  const startLive = (gen: number, after: string | null) => {
    stopLive?.();
    stopLive = subscribeLive(
      JobDeviceUpdatesSubscription,
      {
        jobId: props.jobId,
        status: props.view.status as UpgradeStatus,
        failureReason: (props.view.failureReason as FailureReason | undefined) ?? null,
        wave: props.view.wave ?? null,
        after,
      },
      {
        next: (data) => {
          if (gen !== generation) return;
          const update = data.jobDeviceUpdates;
          const batch: BatchData = {
            cursor: update.cursor,
            devices: update.devices.map((d) => readFragment(JobDeviceRow, d) as DeviceRow),
            otherDeviceKeys: update.otherDeviceKeys as string[],
            removedDeviceKeys: update.removedDeviceKeys as string[],
          };
          cursor = batch.cursor;
          setLiveProblem(null);
          applyBatch(batch);
        },
        error: (text) => gen === generation && setLiveProblem(text),
      },
    );
  };

  /** `fresh`: another view or page, so the old rows go at once; otherwise they stay (dimmed) until the new read. */
  const load = async (fresh = false) => {
    const gen = ++generation;
    stopLive?.();
    cursor = null;
    unknownDestinations.clear();
    setLoaded(false);
    if (fresh) {
      page = new Map();
      setRows({ keys: [], byKey: {} });
    }
    setProblem(null);
    const view = props.view;
    const result = await client
      .query(
        JobDevicesQuery,
        {
          id: props.jobId,
          status: view.status as UpgradeStatus,
          deviceKey: view.deviceKey ?? null,
          currentVersion: view.currentVersion ?? null,
          failureReason: (view.failureReason as FailureReason | undefined) ?? null,
          failedAfter: view.failedAfter ?? null,
          failedBefore: view.failedBefore ?? null,
          wave: view.wave ?? null,
          ...props.paging,
        },
        { requestPolicy: 'network-only' },
      )
      .toPromise();
    if (gen !== generation) return;
    const connection = result.data?.job?.devices;
    if (result.error || !connection) {
      setProblem(result.error ? problemOfError(result.error) : { message: 'This job no longer exists.', code: 'NOT_FOUND', details: [] });
      setLoaded(true);
      return;
    }
    const list = connection.nodes.map((n) => readFragment(JobDeviceRow, n) as DeviceRow);
    page = new Map(list.map((row) => [row.deviceKey, row]));
    solidBatch(() => {
      setRows({ keys: list.map((r) => r.deviceKey), byKey: Object.fromEntries(list.map((r) => [r.deviceKey, r])) });
      setPageInfo({ ...connection.pageInfo, startCursor: connection.pageInfo.startCursor ?? null, endCursor: connection.pageInfo.endCursor ?? null });
      setTotal(connection.totalCount);
      setOutside(0);
      setDepartures(new Map());
      setLoaded(true);
    });
    cursor = connection.changeCursor;
    startLive(gen, cursor);
  };

  // A new tab, search or page: read again and subscribe afresh. The key is a memo so that only a
  // real change re-reads (the job's live updates re-run its inputs constantly).
  const viewKey = createMemo(() => JSON.stringify([props.jobId, props.view, props.paging]));
  createEffect(on(viewKey, () => void load(true)));
  // The connection came back: resume from the last batch (or read again if none had arrived).
  createEffect(
    on(
      liveEpoch,
      () => {
        if (cursor) startLive(generation, cursor);
        else void load();
      },
      { defer: true },
    ),
  );

  /** Keys of the rows still in the view, in page order. */
  const inViewKeys = createMemo(() => rows.keys.filter((k) => !rows.byKey[k].left));
  const departedCount = () => rows.keys.length - inViewKeys().length;

  return {
    rows,
    pageInfo,
    total,
    loaded,
    problem,
    liveProblem,
    outside,
    departures,
    inViewKeys,
    departedCount,
    viewKey,
    load,
    applyBatch,
    cursor: () => cursor,
  };
}

export type DeviceRows = ReturnType<typeof createDeviceRows>;
