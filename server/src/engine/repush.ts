/**
 * A push or a report can be lost: the upgrade command is sent after its transaction commits, so a
 * crash in between, a broker restart, a device that reconnected with a clean session, or a broker
 * that dropped queued messages while the server was down can leave a task in flight that nothing
 * will move until its timeout. Devices ask with getversion on every connect; for those that stay
 * connected, the engine sends the same push again (same message id, fresh download URL) to online
 * devices whose task has been Pushed or In Progress without any report for REPUSH_AFTER_MS.
 * A device treats a push of the job it is already on as a duplicate, and one whose version it
 * already runs by informing that version, which completes a task whose final inform was lost.
 *
 * Not during the first REPUSH_AFTER_MS after the gateway (re)connected to the broker: reports the
 * broker kept for the gateway's sessions (a restarted instance, a broker back from a restart) are
 * still coming in, and a task that looks silent may have ended already — re-pushing it would start
 * the device on an upgrade the server has just closed.
 */
import { sql } from 'drizzle-orm';
import type { SignMethod } from '../db/schema.js';
import type { DeviceCommands } from '../devices/commands.js';
import { queryRows } from '../db/sql.js';
import type { AppServices } from '../services.js';

interface StalePush {
  id: number | string;
  job_id: string;
  device_key: string;
  push_message_id: string;
  product_key: string;
  firmware_id: string;
  version: string;
  sign: string;
  sign_method: SignMethod;
  size: number | string;
}

export class PushResender {
  /** Task id → when this instance last re-sent it (only to space re-sends out; not state). */
  private readonly lastSent = new Map<number, number>();

  constructor(
    private readonly services: AppServices,
    private readonly commands: DeviceCommands,
    private readonly afterMs: number,
  ) {}

  async resendStalePushes(): Promise<number> {
    if (this.commands.connectedForMs() < this.afterMs) return 0;
    const rows = await queryRows<StalePush>(
      this.services.db,
      sql`select t.id, t.job_id, t.device_key, t.push_message_id, p.product_key,
                 f.id as firmware_id, f.version, f.sign, f.sign_method, f.size
          from job_tasks t
          join devices d on d.id = t.device_id
          join ota_jobs j on j.id = t.job_id
          join firmwares f on f.id = j.firmware_id
          join products p on p.id = j.product_id
          where t.status in ('PUSHED', 'IN_PROGRESS') and d.online and t.push_message_id is not null
            and t.updated_at < now() - make_interval(secs => ${this.afterMs / 1000})
          order by t.updated_at
          limit 1000`,
    );
    const now = Date.now();
    const seen = new Set<number>();
    let sent = 0;
    for (const r of rows) {
      const id = Number(r.id);
      seen.add(id);
      if (now - (this.lastSent.get(id) ?? 0) < this.afterMs) continue;
      this.lastSent.set(id, now);
      const params = this.commands.upgradeParams(r.job_id, {
        id: r.firmware_id,
        version: r.version,
        sign: r.sign,
        signMethod: r.sign_method,
        size: Number(r.size),
      });
      this.commands.upgrade(r.product_key, r.device_key, r.push_message_id, params);
      sent++;
    }
    for (const id of this.lastSent.keys()) if (!seen.has(id)) this.lastSent.delete(id);
    return sent;
  }
}
