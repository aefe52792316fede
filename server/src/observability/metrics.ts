/**
 * Every metric of a server instance, on its own prom-client registry (one per running server, so
 * two servers in one process, as in the tests, keep their numbers apart). Served on /metrics.
 *
 * Naming: `updraft_<area>_<what>_<unit>`; counters end in `_total`, durations are histograms in
 * seconds; a name has one label set in every series it has. The process and event-loop metrics of
 * prom-client carry the same `updraft_` prefix. Per instance: they describe what this process did,
 * not the fleet (the fleet's state is in the database). docs/observability.md lists them.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Latencies from a millisecond to two minutes. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
/** A device's time from push to first progress: seconds to an hour. */
const DEVICE_BUCKETS = [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

/** Operation names become label values only this many distinct ones; later names count as "other". */
const MAX_OPERATION_NAMES = 100;
const OPERATION_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export class Metrics {
  readonly registry = new Registry();
  private readonly operationNames = new Set<string>();

  // ── Device gateway ──
  readonly deviceMessages = this.counter('updraft_device_messages_total', 'Device messages received, by kind ("malformed": not decodable)', ['kind']);
  readonly deviceMalformed = this.counter('updraft_device_malformed_total', 'Malformed device messages, by decode error code', ['code']);
  readonly deviceMessagesUnprocessed = this.counter('updraft_device_messages_unprocessed_total', 'Device messages left unacknowledged while shutting down');
  readonly deviceBadRequestReplies = this.counter('updraft_device_bad_request_replies_total', 'Malformed requests answered with 400');
  readonly deviceUnknown = this.counter('updraft_device_unknown_total', 'Reports from devices the database does not know');
  readonly devicePresenceIgnored = this.counter('updraft_device_presence_ignored_total', 'Presence (offline) events ignored, by why', ['why']);
  readonly deviceReportsHeld = this.counter(
    'updraft_device_reports_held_total',
    'Reports held back until the earlier reports of their device arrive (report order)',
  );
  readonly deviceReportsStale = this.counter('updraft_device_reports_stale_total', 'Reports older than one already applied for their device, ignored');
  readonly deviceReportGapsSkipped = this.counter(
    'updraft_device_report_gaps_skipped_total',
    'Gaps in a device report sequence given up on after the hold time',
  );
  readonly deviceStaleReplies = this.counter('updraft_device_stale_replies_total', 'Push replies for a push that is no longer current');
  readonly deviceProgressRejected = this.counter('updraft_device_progress_rejected_total', 'Progress reports answered with an error code', ['code']);
  readonly pushesSent = this.counter('updraft_device_pushes_sent_total', 'Upgrade pushes published to devices (first pushes and re-sends)');
  readonly cancelsSent = this.counter('updraft_device_cancels_sent_total', 'Cancel commands published to devices');
  readonly mqttConnects = this.counter('updraft_mqtt_connects_total', 'Device connections accepted by the embedded broker');
  readonly mqttConnectRefused = this.counter('updraft_mqtt_connect_refused_total', 'Device connections refused by the embedded broker, by reason', ['reason']);
  readonly mqttAclDenied = this.counter('updraft_mqtt_acl_denied_total', 'Publishes or subscriptions outside the device namespace, by action', ['action']);
  readonly mqttRateLimited = this.counter('updraft_mqtt_rate_limited_total', 'Device messages over the rate limit, by action (delayed, disconnected)', [
    'action',
  ]);
  readonly mqttConnectionsClosed = this.counter('updraft_mqtt_connections_closed_total', 'Device connections closed by the broker limits, by reason', [
    'reason',
  ]);
  readonly mqttReconnects = this.counter('updraft_mqtt_reconnects_total', 'Reconnections to the external broker');
  readonly mqttSessionsLost = this.counter('updraft_mqtt_sessions_lost_total', 'Reconnections to the external broker that found the persistent session gone');
  readonly mqttClientErrors = this.counter('updraft_mqtt_client_errors_total', 'MQTT connection errors');
  readonly mqttPublishErrors = this.counter('updraft_mqtt_publish_errors_total', 'Commands or replies the broker did not take');
  private devicesConnectedSource: (() => number) | null = null;
  readonly devicesConnected = new Gauge({
    name: 'updraft_devices_connected',
    help: 'Devices connected to the embedded broker of this instance (absent with an external broker: ask the broker)',
    registers: [this.registry],
    collect: () => {
      if (this.devicesConnectedSource) this.devicesConnected.set(this.devicesConnectedSource());
    },
  });

  // ── Report ingestion ──
  readonly reportBatches = this.counter('updraft_report_batches_total', 'Report batches committed');
  readonly reportBatchErrors = this.counter('updraft_report_batch_errors_total', 'Report batch attempts that failed (retried)');
  readonly reportsWritten = this.counter('updraft_reports_written_total', 'Device reports committed');
  readonly reportsDropped = this.counter('updraft_reports_dropped_total', 'Reports that could not be written after retries (logged)');
  readonly taskTransitions = this.counter('updraft_task_transitions_total', 'Task changes written from device reports, by kind', ['kind']);
  readonly reportBatchDuration = this.histogram('updraft_report_batch_duration_seconds', 'Time to write and commit one report batch', [], LATENCY_BUCKETS);
  readonly reportToCommit = this.histogram(
    'updraft_report_commit_latency_seconds',
    'From a device report arriving to its batch committing (then it is acknowledged)',
    [],
    LATENCY_BUCKETS,
  );
  readonly pushToFirstProgress = this.histogram(
    'updraft_push_to_first_progress_seconds',
    "From a task's push to its device's first progress report",
    [],
    DEVICE_BUCKETS,
  );

  // ── Rollout engine ──
  readonly enginePasses = this.counter('updraft_engine_passes_total', 'Engine passes run');
  readonly engineErrors = this.counter('updraft_engine_errors_total', 'Engine steps that failed, by step', ['step']);
  readonly engineTimeouts = this.counter('updraft_engine_timeouts_total', 'Tasks timed out by the engine');
  readonly enginePushes = this.counter('updraft_engine_pushes_total', 'Tasks pushed by the engine');
  readonly enginePushFailures = this.counter('updraft_engine_push_failures_total', 'Tasks failed at push (no firmware, device gone)');
  readonly engineRepushes = this.counter('updraft_engine_repushes_total', 'Unanswered pushes sent again');
  readonly jobStateChanges = this.counter('updraft_job_state_changes_total', 'Job status changes made on this instance, by change', ['change']);

  // ── API and live ──
  readonly exportRows = this.counter('updraft_export_rows_total', 'Rows written by CSV exports');
  readonly graphqlDuration = this.histogram(
    'updraft_graphql_operation_duration_seconds',
    'GraphQL query and mutation execution time, by operation name (bounded: "other" past 100 names) and type',
    ['operation', 'type'],
    LATENCY_BUCKETS,
  );
  readonly graphqlErrors = this.counter('updraft_graphql_errors_total', 'GraphQL results with errors, by error code', ['code']);
  readonly liveSubscribers = new Gauge({
    name: 'updraft_live_subscribers',
    help: 'Open GraphQL subscriptions on this instance, by subscription field',
    labelNames: ['subscription'],
    registers: [this.registry],
  });
  readonly liveDelivery = this.histogram(
    'updraft_live_delivery_latency_seconds',
    "From a task change's transaction to its change batch reaching the subscribers' hub (jobDeviceUpdates)",
    [],
    LATENCY_BUCKETS,
  );

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'updraft_' });
  }

  /** Where the devices-connected gauge reads its number when scraped (the embedded broker), or none. */
  countDevicesConnected(source: (() => number) | null): void {
    this.devicesConnectedSource = source;
  }

  /** The label for an operation name: itself while the set of names is small, else "other". */
  operationLabel(name: string | null | undefined): string {
    if (!name) return 'anonymous';
    if (!OPERATION_NAME.test(name)) return 'other';
    if (this.operationNames.has(name)) return name;
    if (this.operationNames.size >= MAX_OPERATION_NAMES) return 'other';
    this.operationNames.add(name);
    return name;
  }

  /**
   * Increments given as `name{label="value"}` → n (report batches count what they saw this way).
   * Called after a commit, so it never throws: what names no counter is returned, for the log.
   */
  addCounts(counts: ReadonlyMap<string, number>): string[] {
    const unknown: string[] = [];
    for (const [key, n] of counts) {
      const match = /^([a-z_]+)(?:\{(\w+)="([^"]*)"\})?$/.exec(key);
      const metric = match && (this.registry.getSingleMetric(match[1]) as Counter<string> | undefined);
      if (!match || !(metric instanceof Counter)) unknown.push(key);
      else if (match[2]) metric.inc({ [match[2]]: match[3] }, n);
      else metric.inc(n);
    }
    return unknown;
  }

  /** One series' current value (tests; 0 when never counted). */
  async value(name: string, labels: Record<string, string> = {}): Promise<number> {
    const metric = this.registry.getSingleMetric(name);
    if (!metric) throw new Error(`unknown metric ${name}`);
    const { values } = await metric.get();
    const wanted = Object.entries(labels);
    return values
      .filter((v) => wanted.every(([k, value]) => String(v.labels[k]) === value) && !('metricName' in v && v.metricName !== name))
      .reduce((sum, v) => sum + v.value, 0);
  }

  /** Prometheus text exposition. */
  async text(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private counter<L extends string>(name: string, help: string, labelNames: L[] = []): Counter<L> {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }

  private histogram<L extends string>(name: string, help: string, labelNames: L[], buckets: number[]): Histogram<L> {
    return new Histogram({ name, help, labelNames, buckets, registers: [this.registry] });
  }
}

export function createMetrics(): Metrics {
  return new Metrics();
}
