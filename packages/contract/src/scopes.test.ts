// API key scopes (SPEC A1): the one function the panel's auth hook asks whether a key may do something.
import { describe, expect, it } from 'vitest';
import { channelIncludes, RELEASE_CHANNELS } from './releases';
import { API_KEY_SCOPES, isApiKeyScope, RESOURCE_SCOPES, scopeAllows } from './scopes';

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];

describe('scopeAllows', () => {
  it('lets `all` do everything on every resource', () => {
    for (const r of RESOURCE_SCOPES) for (const m of METHODS) expect(scopeAllows(['all'], r, m)).toBe(true);
  });

  it('lets a resource scope do every method on that resource and nothing on the others', () => {
    for (const scope of RESOURCE_SCOPES) {
      for (const r of RESOURCE_SCOPES) {
        for (const m of METHODS) expect(scopeAllows([scope], r, m), `${scope} ${m} ${r}`).toBe(scope === r);
      }
    }
  });

  it('lets `read` GET and HEAD every resource (any letter case) and change none', () => {
    for (const r of RESOURCE_SCOPES) {
      for (const m of ['GET', 'HEAD', 'get', 'head', 'Get']) expect(scopeAllows(['read'], r, m)).toBe(true);
      for (const m of ['POST', 'PUT', 'PATCH', 'DELETE', 'post', 'OPTIONS']) {
        expect(scopeAllows(['read'], r, m), `${m} ${r}`).toBe(false);
      }
    }
  });

  it('combines scopes and gives nothing without one', () => {
    expect(scopeAllows(['read', 'domains'], 'domains', 'DELETE')).toBe(true);
    expect(scopeAllows(['read', 'domains'], 'users', 'DELETE')).toBe(false);
    expect(scopeAllows(['read', 'domains'], 'users', 'GET')).toBe(true);
    for (const m of METHODS) expect(scopeAllows([], 'users', m)).toBe(false);
    expect(scopeAllows(['ALL', 'Users', ''], 'users', 'POST')).toBe(false);
  });

  it('knows exactly the documented scopes', () => {
    expect([...API_KEY_SCOPES]).toEqual([
      'all',
      'read',
      'users',
      'api-keys',
      'domains',
      'databases',
      'license',
      'version',
      'metrics',
    ]);
    for (const s of API_KEY_SCOPES) expect(isApiKeyScope(s)).toBe(true);
    for (const s of ['', 'ALL', 'admin', 'write', 'users ', 'api_keys']) expect(isApiKeyScope(s)).toBe(false);
  });
});

describe('release channels', () => {
  it('are cumulative: stable sees stable, beta sees stable and beta, alpha sees all', () => {
    const sees = Object.fromEntries(
      RELEASE_CHANNELS.map((panel) => [panel, RELEASE_CHANNELS.filter((r) => channelIncludes(panel, r))]),
    );
    expect(sees).toEqual({
      stable: ['stable'],
      beta: ['stable', 'beta'],
      alpha: ['stable', 'beta', 'alpha'],
    });
  });
});
