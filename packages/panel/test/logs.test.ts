import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '@wispanel/kit';
import { tempDir } from '@wispanel/kit/testing';
import { describe, expect, it } from 'vitest';
import { createPanelHarness } from './harness';

describe('JSON logs', () => {
  it('write one line per request and never a key, token or password', async () => {
    const dir = tempDir();
    const file = join(dir.path, 'panel.log');
    const logger = createLogger({ level: 'info', name: 'panel', destination: file });
    const h = await createPanelHarness({ deps: { logger } });
    try {
      const k = await h.key('admin', { name: 'logged' });
      await h.call('GET', '/api/v1/auth/me', { key: k.secret });
      await h.call('POST', '/api/v1/users', {
        body: { username: 'logu', email: 'logu@example.com', password: 'never in logs 123' },
      });
      const login = await h.call('POST', '/api/v1/auth/login', {
        key: null,
        body: { username: 'logu', password: 'never in logs 123' },
      });
      await h.call('GET', '/api/v1/auth/me', { key: login.json().token });
      await h.call('POST', '/api/v1/databases', { body: { name: 'logdb', password: 'db secret 456789' } });
      await h.call('GET', '/api/v1/auth/me', { key: `wsp_${'0'.repeat(48)}` });
      logger.flush();
      // The destination writes asynchronously: read until the seven requests above are all there.
      const read = () => readFileSync(file, 'utf8');
      const requestLines = () =>
        read()
          .split('\n')
          .filter((l) => l.trim() !== '')
          .map((l) => JSON.parse(l))
          .filter((l) => l.msg === 'request');
      await expect.poll(() => requestLines().length, { timeout: 5_000, interval: 20 }).toBe(7);
      const text = read();
      const requests = requestLines();
      expect(requests[0]).toMatchObject({
        method: expect.any(String),
        url: expect.any(String),
        status: expect.any(Number),
      });
      for (const secret of [
        h.adminKey,
        k.secret,
        login.json().token,
        'never in logs 123',
        'db secret 456789',
        '0'.repeat(48),
      ]) {
        expect(text).not.toContain(secret);
      }
    } finally {
      await h.close();
      dir.remove();
    }
  });
});
