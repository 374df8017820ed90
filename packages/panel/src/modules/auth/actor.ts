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
}
