import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { PanelDB } from '../../db/schema';

/**
 * `last_used` of API keys, kept in memory and written in one batch periodically (and at shutdown), so an
 * authenticated request never costs a database write. Readers merge `get()` over the stored value.
 */
export class LastUsedTracker {
  // Epoch milliseconds: an ISO string per request showed in the request-path profile; converted when read.
  private readonly pending = new Map<string, number>();
  private readonly latest = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: Kysely<PanelDB>,
    private readonly logger: Logger,
    private readonly intervalMs = 30_000,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.flush(), this.intervalMs);
    this.timer.unref();
  }

  touch(keyId: string, at: Date): void {
    const ms = at.getTime();
    this.pending.set(keyId, ms);
    this.latest.set(keyId, ms);
  }

  get(keyId: string): string | undefined {
    const ms = this.latest.get(keyId);
    return ms === undefined ? undefined : new Date(ms).toISOString();
  }

  forget(keyId: string): void {
    this.pending.delete(keyId);
    this.latest.delete(keyId);
  }

  async flush(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = [...this.pending];
    this.pending.clear();
    try {
      await this.db.transaction().execute(async (tx) => {
        for (const [id, at] of batch)
          await tx
            .updateTable('api_keys')
            .set({ last_used: new Date(at).toISOString() })
            .where('id', '=', id)
            .execute();
      });
      if (this.latest.size > 10_000) this.latest.clear();
    } catch (err) {
      this.logger.warn({ err }, 'could not store api key last_used');
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }
}
