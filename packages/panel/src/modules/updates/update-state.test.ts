import { mkdirSync, readlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@wispanel/kit/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { InstallLayout } from './install-layout';
import { reconcileInterrupted } from './update-pipeline';
import { idleStatus, MAX_LOG_LINES, UpdateStateStore } from './update-state';

const dir = tempDir('wispanel-update-state-');
afterAll(() => dir.remove());

function fakeRelease(layout: InstallLayout, version: string, ageSeconds: number) {
  const d = layout.releaseDir(version);
  mkdirSync(join(d, 'bin'), { recursive: true });
  writeFileSync(join(d, 'release-manifest.json'), JSON.stringify({ version }));
  const t = Date.now() / 1000 - ageSeconds;
  utimesSync(d, t, t);
}

describe('UpdateStateStore', () => {
  it('starts idle, persists atomically, keeps the last log lines', () => {
    const store = new UpdateStateStore(join(dir.path, 'a', 'state', 'update.json'));
    expect(store.read()).toEqual(idleStatus());
    for (let i = 0; i < MAX_LOG_LINES + 10; i++) store.log(`line ${i}`);
    const s = new UpdateStateStore(store.file).read();
    expect(s.log).toHaveLength(MAX_LOG_LINES);
    expect(s.log.at(-1)).toMatch(/line 59$/);
    expect(s.updated_at).not.toBeNull();
  });

  it('an interrupted preparation step with a dead owner becomes failed/UPDATE_INTERRUPTED; a live one is left', () => {
    const layout = new InstallLayout(join(dir.path, 'b'));
    layout.ensure();
    const store = new UpdateStateStore(layout.stateFile);
    store.update((s) => ({ ...s, job_id: 'j', state: 'verifying', owner_pid: process.pid }));
    expect(reconcileInterrupted(store, layout).state).toBe('verifying');
    store.update((s) => ({ ...s, owner_pid: 2 ** 22 + 4321 }));
    const s = reconcileInterrupted(store, layout);
    expect(s).toMatchObject({ state: 'failed', error: { code: 'UPDATE_INTERRUPTED' }, owner_pid: null });
    expect(s.error?.message).toMatch(/during step verifying/);
    // A prepared release waiting for the supervisor is not "interrupted": the supervisor will switch to it.
    store.update((x) => ({ ...x, state: 'restarting', ready_to_switch: true, owner_pid: 2 ** 22 + 4321 }));
    expect(reconcileInterrupted(store, layout).state).toBe('restarting');
  });
});

describe('InstallLayout', () => {
  it('switches current atomically and prunes to current + 3 previous, keeping the protected one', () => {
    const layout = new InstallLayout(join(dir.path, 'c'));
    layout.ensure();
    ['1.0.0', '1.1.0', '1.2.0', '1.3.0', '1.4.0', '1.5.0'].forEach((v, i) => {
      fakeRelease(layout, v, 600 - i * 60);
    });
    mkdirSync(join(layout.releasesDir, '.1.6.0.partial-abcd'));
    layout.switchTo(layout.targetOf('1.5.0'));
    expect(readlinkSync(layout.currentLink)).toBe('releases/1.5.0');
    expect(layout.currentVersion()).toBe('1.5.0');
    const removed = layout.prune(3, ['1.0.0']);
    expect(removed.sort()).toEqual(['1.1.0', '1.2.0']);
    expect(layout.versions()).toEqual(['1.5.0', '1.4.0', '1.3.0', '1.0.0']);
  });
});
