/**
 * API key permissions (SPEC A1). `all` grants everything the key's owner may do; `read` grants GET on
 * every resource; a resource scope grants every method on that resource.
 */
export const RESOURCE_SCOPES = [
  'users',
  'api-keys',
  'domains',
  'databases',
  'license',
  'version',
  'metrics',
] as const;
export const API_KEY_SCOPES = ['all', 'read', ...RESOURCE_SCOPES] as const;
export type ResourceScope = (typeof RESOURCE_SCOPES)[number];
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

export const ROLES = ['admin', 'reseller', 'user'] as const;
export type Role = (typeof ROLES)[number];

export function isApiKeyScope(value: string): value is ApiKeyScope {
  return (API_KEY_SCOPES as readonly string[]).includes(value);
}

/** Does a key with these permissions allow `method` on `resource`? */
export function scopeAllows(
  permissions: readonly string[],
  resource: ResourceScope,
  method: string,
): boolean {
  if (permissions.includes('all') || permissions.includes(resource)) return true;
  const m = method.toUpperCase();
  return (m === 'GET' || m === 'HEAD') && permissions.includes('read');
}
