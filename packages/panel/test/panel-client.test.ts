import { PanelApiError, PanelClient } from '@wispanel/client';
import { createLogger, ensureSelfSignedCertificate } from '@wispanel/kit';
import { tempDir } from '@wispanel/kit/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPanelConfig } from '../src/config';
import { type RunningPanel, startPanel } from '../src/main';
import { allowAllLicenseGate } from '../src/modules/resources/license-gate';
import { initializeDataDir } from '../src/setup';

const dir = tempDir('wispanel-client-');
let panel: RunningPanel;
let admin: PanelClient;
let ca: string;

beforeAll(async () => {
  const config = loadPanelConfig({ dataDir: dir.path, host: '127.0.0.1', port: '0', logLevel: 'silent' }, {});
  const init = await initializeDataDir(config);
  ca = (await ensureSelfSignedCertificate(`${dir.path}/tls`)).cert;
  panel = await startPanel(config, {
    logger: createLogger({ level: 'silent' }),
    licenseGate: allowAllLicenseGate,
  });
  admin = new PanelClient({ baseUrl: panel.url, token: init.api_key, ca });
});
afterAll(async () => {
  await admin?.close();
  await panel?.close();
  dir.remove();
});

describe('PanelClient over HTTPS (verified self-signed certificate)', () => {
  it('drives accounts, keys, domains and databases', async () => {
    expect((await admin.health()).status).toBe('ok');
    expect((await admin.me()).role).toBe('admin');
    await admin.users.create({ username: 'erin', email: 'erin@example.com', password: 'erin password 1' });
    const issued = await admin.apiKeys.issue('erin', { name: 'erin key', permissions: ['all'] });
    const erin = new PanelClient({ baseUrl: `${panel.url}`, token: issued.secret_key, ca });
    try {
      const d = await erin.domains.create({ domain: 'erin.example' }, { idempotencyKey: 'create-erin' });
      const again = await erin.domains.create({ domain: 'erin.example' }, { idempotencyKey: 'create-erin' });
      expect(again.domain.id).toBe(d.domain.id);
      const db = await erin.databases.create({ name: 'blog', domain: 'erin.example' });
      expect(db.database.name).toBe('erin_blog');
      expect((await erin.databases.list()).pagination.total).toBe(1);
      const err = await erin.users.get('admin').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PanelApiError);
      expect(err).toMatchObject({ status: 404, code: 'NOT_FOUND' });
    } finally {
      await erin.close();
    }
    const ui = new PanelClient({ baseUrl: panel.url, ca });
    try {
      await ui.login('erin@example.com', 'erin password 1');
      expect((await ui.me()).auth.method).toBe('session');
      await ui.logout();
      await expect(ui.me()).rejects.toMatchObject({ status: 401, code: 'UNAUTHORIZED' });
    } finally {
      await ui.close();
    }
  });
});
