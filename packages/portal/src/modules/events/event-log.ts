import type { PortalEventRecord } from '@wispanel/contract';
import type { Insertable, Kysely } from 'kysely';
import type { EventsTable, PortalTables } from '../../db';

/** Who did something: an admin key (by prefix), the operator's CLI, a panel, or the portal itself. */
export interface Actor {
  kind: 'admin' | 'cli' | 'panel' | 'system';
  /** Admin key prefix, `cli`, hardware id prefix… never a secret. */
  id: string;
  ip: string | null;
}

export const systemActor: Actor = { kind: 'system', id: 'portal', ip: null };
export const cliActor: Actor = { kind: 'cli', id: 'operator', ip: null };

export interface EventInput {
  licenseId?: string | null;
  /** Dotted verb: `license.issued`, `license.activate`, `release.published`… */
  action: string;
  actor: Actor;
  hardwareId?: string | null;
  panelVersion?: string | null;
  usage?: unknown;
  /** `OK`, a license code (`VALID`, `ACTIVATION_LIMIT`…), or an error code. */
  resultCode: string;
  data?: Record<string, unknown> | null;
}

export type PortalEvent = PortalEventRecord;

export interface EventFilter {
  licenseId?: string;
  action?: string;
  /** `admin:wpa_1234abcd`, `cli:operator`, `panel:…` (exact). */
  actor?: string;
  resultCode?: string;
  /** ISO times, inclusive start and exclusive end. */
  since?: string;
  until?: string;
  /** Events with id below this (pagination cursor, newest first). */
  before?: number;
  limit?: number;
}

/** The append-only event log (the database refuses UPDATE and DELETE on it). */
export class EventLog {
  constructor(
    private readonly db: Kysely<PortalTables>,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Appends one event; pass a transaction to record it atomically with the change it describes. */
  async append(event: EventInput, trx: Kysely<PortalTables> = this.db): Promise<void> {
    await trx.insertInto('events').values(this.row(event)).execute();
  }

  /** The row an event becomes (for callers that insert it within a larger statement). */
  row(event: EventInput): Insertable<EventsTable> {
    return {
      at: this.clock().toISOString(),
      license_id: event.licenseId ?? null,
      action: event.action,
      actor: `${event.actor.kind}:${event.actor.id}`,
      ip: event.actor.ip,
      hardware_id: event.hardwareId ?? null,
      panel_version: event.panelVersion ?? null,
      usage: event.usage === undefined || event.usage === null ? null : JSON.stringify(event.usage),
      result_code: event.resultCode,
      data: event.data ? JSON.stringify(event.data) : null,
    };
  }

  /** Newest first. */
  async list(filter: EventFilter = {}): Promise<PortalEvent[]> {
    let q = this.db.selectFrom('events').selectAll();
    if (filter.licenseId) q = q.where('license_id', '=', filter.licenseId);
    if (filter.action) q = q.where('action', '=', filter.action);
    if (filter.actor) q = q.where('actor', '=', filter.actor);
    if (filter.resultCode) q = q.where('result_code', '=', filter.resultCode);
    if (filter.since) q = q.where('at', '>=', filter.since);
    if (filter.until) q = q.where('at', '<', filter.until);
    if (filter.before) q = q.where('id', '<', filter.before);
    const rows = await q
      .orderBy('id', 'desc')
      .limit(filter.limit ?? 50)
      .execute();
    return rows.map((r) => ({
      ...r,
      id: Number(r.id),
      usage: r.usage ? JSON.parse(r.usage) : null,
      data: r.data ? (JSON.parse(r.data) as Record<string, unknown>) : null,
    }));
  }
}
