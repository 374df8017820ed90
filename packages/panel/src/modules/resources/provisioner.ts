import type { Logger } from 'pino';

export type ProvisionEvent =
  | { action: 'create' | 'delete' | 'suspend' | 'unsuspend'; kind: 'account'; name: string }
  | { action: 'create' | 'delete' | 'suspend' | 'unsuspend'; kind: 'domain'; name: string; owner: string }
  | {
      action: 'create' | 'delete' | 'suspend' | 'unsuspend';
      kind: 'database';
      name: string;
      owner: string;
      dbUser?: string;
      /** Present only on create when a password was given; never stored by the panel. */
      password?: string;
    };

/**
 * Makes resources real on the server (vhosts, MySQL databases, system users). Called after the panel's own
 * record is committed. The default only records what it would do.
 */
export interface Provisioner {
  apply(event: ProvisionEvent): Promise<void>;
}

export class RecordingProvisioner implements Provisioner {
  readonly events: ProvisionEvent[] = [];
  constructor(private readonly logger?: Logger) {}

  async apply(event: ProvisionEvent): Promise<void> {
    const { password: _omit, ...safe } = event as ProvisionEvent & { password?: string };
    this.events.push(safe as ProvisionEvent);
    if (this.events.length > 1000) this.events.shift();
    this.logger?.info({ provision: safe }, 'provisioner (recording only)');
  }
}
