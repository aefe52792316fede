/**
 * Counters of the device gateway and the rollout engine, exposed as Prometheus text on /metrics.
 * Plain numbers in memory, per instance: they describe what this process did, not the fleet
 * (the fleet's state is in the database).
 */
export class Counters {
  private readonly values = new Map<string, number>();

  /** `name` may carry Prometheus labels: `updraft_device_malformed_total{code="NOT_JSON"}`. */
  add(name: string, by = 1): void {
    this.values.set(name, (this.values.get(name) ?? 0) + by);
  }

  get(name: string): number {
    return this.values.get(name) ?? 0;
  }

  /** Every counter in the Prometheus text exposition format. */
  toPrometheus(): string {
    const lines: string[] = [];
    const typed = new Set<string>();
    for (const name of [...this.values.keys()].sort()) {
      const base = name.split('{')[0];
      if (!typed.has(base)) {
        typed.add(base);
        lines.push(`# TYPE ${base} counter`);
      }
      lines.push(`${name} ${this.values.get(name)}`);
    }
    return `${lines.join('\n')}\n`;
  }
}
