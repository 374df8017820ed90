import { API_KEY_SCOPES } from '@wispanel/contract';
import { AppError, forbidden, notFound } from '@wispanel/kit';
import type { Kysely, Selectable } from 'kysely';
import type { ApiKeyTable, PanelDB } from '../../db/schema';
import type { Actor } from '../auth/actor';
import { parseIpEntry, whitelistWithin } from '../auth/ip-whitelist';
import type { LastUsedTracker } from '../auth/last-used';
import { newApiKeySecret } from '../auth/tokens';
import type { UserService } from '../users/users.service';

export interface IssueKeyInput {
  name: string;
  permissions?: string[];
  ip_whitelist?: string[];
  expires_in?: number;
}

/** Issued, listed, revoked and disabled per account (SPEC A1). Only the SHA-256 of a secret is stored. */
export class ApiKeyService {
  constructor(
    private readonly db: Kysely<PanelDB>,
    private readonly clock: () => Date,
    private readonly users: UserService,
    private readonly lastUsed: LastUsedTracker,
  ) {}

  view(k: Selectable<ApiKeyTable>) {
    return {
      id: k.id,
      name: k.name,
      key_prefix: k.key_prefix,
      permissions: JSON.parse(k.permissions) as string[],
      ip_whitelist: JSON.parse(k.ip_whitelist) as string[],
      last_used: this.lastUsed.get(k.id) ?? k.last_used,
      created_at: k.created_at,
      expires_at: k.expires_at,
      enabled: k.enabled === 1,
    };
  }

  /** An admin manages anyone's keys; a user or reseller only their own. Invisible accounts are 404. */
  private async owner(actor: Actor, username: string): Promise<{ id: number; username: string }> {
    const user = await this.users.find(actor, username);
    if (user.id !== actor.userId && actor.role !== 'admin') {
      throw forbidden('Only an admin may manage API keys of another account');
    }
    return { id: user.id, username: user.username };
  }

  async issue(actor: Actor, username: string, input: IssueKeyInput) {
    const owner = await this.owner(actor, username);
    const permissions = [...new Set(input.permissions ?? ['read'])];
    const unknown = permissions.filter((p) => !(API_KEY_SCOPES as readonly string[]).includes(p));
    if (unknown.length > 0) {
      const text = `permissions: unknown scope '${unknown[0]}' (known: ${API_KEY_SCOPES.join(', ')})`;
      throw new AppError('VALIDATION_ERROR', text, { details: { permissions: [text] } });
    }
    // A key can hand out only what it holds itself (no escalation through the api-keys scope).
    if (!actor.permissions.includes('all')) {
      const beyond = permissions.filter((p) => !actor.permissions.includes(p));
      if (beyond.length > 0)
        throw forbidden(`API key cannot grant permissions it does not hold: ${beyond.join(', ')}`);
    }
    const whitelist = [...new Set((input.ip_whitelist ?? []).map((e) => e.trim()))];
    const bad = whitelist.find((e) => parseIpEntry(e) === null);
    if (bad !== undefined) {
      const text = `ip_whitelist: '${bad}' is not an IPv4/IPv6 address or CIDR`;
      throw new AppError('VALIDATION_ERROR', text, { details: { ip_whitelist: [text] } });
    }
    // ...nor an IP whitelist wider than its own (an empty list is "any address"), nor a longer life.
    const ownWhitelist = actor.keyIpWhitelist ?? [];
    if (!whitelistWithin(whitelist, ownWhitelist)) {
      throw forbidden(
        `API key cannot issue a key with a wider IP whitelist than its own (${ownWhitelist.join(', ')}): every entry must lie within it`,
      );
    }
    const now = this.clock();
    const days = input.expires_in ?? 0;
    let expiresAt = days > 0 ? new Date(now.getTime() + days * 86_400_000).toISOString() : null;
    const ownExpiry = actor.keyExpiresAt ?? null;
    if (ownExpiry !== null) {
      // Days are whole: a request within the issuing key's remaining (rounded up) days is capped at its expiry.
      const left = Math.ceil((Date.parse(ownExpiry) - now.getTime()) / 86_400_000);
      if (expiresAt === null || days > left) {
        throw forbidden(
          `API key expiring at ${ownExpiry} cannot issue a key that outlives it: set expires_in to at most ${left} day(s)`,
        );
      }
      if (Date.parse(expiresAt) > Date.parse(ownExpiry)) expiresAt = ownExpiry;
    }
    const key = newApiKeySecret();
    const row: Selectable<ApiKeyTable> = {
      id: key.id,
      user_id: owner.id,
      name: input.name,
      key_prefix: key.prefix,
      secret_hash: key.hash,
      permissions: JSON.stringify(permissions),
      ip_whitelist: JSON.stringify(whitelist),
      last_used: null,
      created_at: now.toISOString(),
      expires_at: expiresAt,
      enabled: 1,
    };
    await this.db.insertInto('api_keys').values(row).execute();
    return { secret: key.secret, key: this.view(row) };
  }

  async list(actor: Actor, username: string) {
    const owner = await this.owner(actor, username);
    const rows = await this.db
      .selectFrom('api_keys')
      .selectAll()
      .where('user_id', '=', owner.id)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map((r) => this.view(r));
  }

  private async findKey(actor: Actor, username: string, id: string) {
    const owner = await this.owner(actor, username);
    const row = await this.db
      .selectFrom('api_keys')
      .selectAll()
      .where('user_id', '=', owner.id)
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) throw notFound(`API key '${id}'`);
    return row;
  }

  async get(actor: Actor, username: string, id: string) {
    return this.view(await this.findKey(actor, username, id));
  }

  async revoke(actor: Actor, username: string, id: string): Promise<void> {
    const row = await this.findKey(actor, username, id);
    await this.db.deleteFrom('api_keys').where('id', '=', row.id).execute();
    this.lastUsed.forget(row.id);
  }

  async setEnabled(actor: Actor, username: string, id: string, enabled: boolean) {
    const row = await this.findKey(actor, username, id);
    await this.db
      .updateTable('api_keys')
      .set({ enabled: enabled ? 1 : 0 })
      .where('id', '=', row.id)
      .execute();
    return this.view({ ...row, enabled: enabled ? 1 : 0 });
  }
}
