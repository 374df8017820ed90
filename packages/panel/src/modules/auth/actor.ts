import type { Role } from '@wispanel/contract';

/** Who is calling: set on `request.actor` by the auth hook for every authenticated route. */
export interface Actor {
  userId: number;
  username: string;
  email: string;
  role: Role;
  /** users.id of the account that created this one (a reseller's users point at the reseller). */
  creatorId: number | null;
  via: 'api_key' | 'session';
  /** API key id (16 hex) when `via` is api_key. */
  keyId?: string;
  sessionId?: string;
  /** Scopes of the key; a session has ['all']. */
  permissions: string[];
  /** The key's IP whitelist (API keys only; empty = any address). A key never issues a wider one. */
  keyIpWhitelist?: readonly string[];
  /** The key's expiry (API keys only; null = never). A key never issues one that outlives it. */
  keyExpiresAt?: string | null;
}

/**
 * A credential narrower than its account: an API key without scope `all`, or with an IP whitelist, or with an
 * expiry. Such a key may not set a password (its own account's with the current password excepted): a
 * password is a login with the account's full rights, from any address, forever.
 */
export function isRestrictedKey(actor: Actor): boolean {
  if (actor.via !== 'api_key') return false;
  return (
    !actor.permissions.includes('all') ||
    (actor.keyIpWhitelist?.length ?? 0) > 0 ||
    (actor.keyExpiresAt ?? null) !== null
  );
}
