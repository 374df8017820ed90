import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@wispanel/kit/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { UpdateStateStore } from '../src/modules/updates/update-state';
import { createPanelHarness } from './harness';

const dir = tempDir('wispanel-update-history-');
afterAll(() => dir.remove());

describe('update history (GET /version/update/history)', () => {
  it('records each finished job once, newest first, with the rollback reason; skips a torn line', () => {
    const store = new UpdateStateStore(join(dir.path, 'state', 'update.json'));
    const run = (
      job: string,
      to: string,
      end: 'completed' | 'rolled_back',
      error: { code: string; message: string } | null,
    ) => {
      store.update((s) => ({
        ...s,
        job_id: job,
        state: 'downloading',
        from_version: '1.0.0',
        to_version: to,
        source: 'api',
      }));
      store.update((s) => ({ ...s, state: 'health_check' }));
      store.update((s) => ({ ...s, state: end, error, finished_at: '2026-01-01T00:00:00.000Z' }));
      // Later writes of the same final state (log lines, reconcile) add nothing.
      store.log('after the end');
    };
    run('a1', '1.0.1', 'completed', null);
    run('b2', '1.0.2', 'rolled_back', { code: 'UPDATE_HEALTH_CHECK_FAILED', message: 'health check failed' });
    appendFileSync(store.historyFile, '{"job_id":"torn"');
    const h = store.history();
    expect(h.map((e) => [e.job_id, e.state])).toEqual([
      ['b2', 'rolled_back'],
      ['a1', 'completed'],
    ]);
    expect(h[0]?.error?.code).toBe('UPDATE_HEALTH_CHECK_FAILED');
    expect(h[0]).toMatchObject({ from_version: '1.0.0', to_version: '1.0.2', source: 'api' });
    expect(store.history(1)).toHaveLength(1);
  });

  it('the route answers an empty history on a fresh panel, admin only, and refuses a bad limit', async () => {
    const h = await createPanelHarness();
    try {
      const res = await h.call('GET', '/api/v1/version/update/history');
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toEqual({ updates: [] });
      expect((await h.call('GET', '/api/v1/version/update/history?limit=0')).statusCode).toBe(400);
      const user = await h.account('user');
      expect((await h.call('GET', '/api/v1/version/update/history', { key: user.key })).statusCode).toBe(403);
    } finally {
      await h.close();
    }
  });
});
