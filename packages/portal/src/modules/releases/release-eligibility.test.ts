import { describe, expect, it } from 'vitest';
import { changelogMarkdown, decideUpdate, isReleaseVersion, type ReleaseFacts } from './release-eligibility';
import { versionKey } from './releases.repository';

function rel(version: string, over: Partial<ReleaseFacts> = {}): ReleaseFacts {
  return {
    version,
    channel: 'stable',
    status: 'published',
    changelog: `- changes in ${version}`,
    critical: false,
    min_version: null,
    published_at: '2026-01-01T00:00:00.000Z',
    ...over,
  };
}

const q = (currentVersion: string, over: Partial<Parameters<typeof decideUpdate>[1]> = {}) => ({
  currentVersion,
  channel: 'stable' as const,
  publishedBefore: null,
  ...over,
});

describe('release eligibility', () => {
  it('accepts strict semver only', () => {
    expect(isReleaseVersion('1.4.2')).toBe(true);
    expect(isReleaseVersion('1.5.0-beta.1')).toBe(true);
    for (const bad of ['v1.4.2', '1.4', '1.4.2+build.1', ' 1.4.2', '01.4.2', '']) {
      expect(isReleaseVersion(bad)).toBe(false);
    }
  });

  it('version keys sort as text the way version cores sort as numbers', () => {
    const sorted = ['1.10.0', '1.9.0', '1.9.0-beta.2', '10.0.0', '2.0.0'].map(versionKey).sort();
    expect(sorted).toEqual(['1.9.0', '1.9.0', '1.10.0', '2.0.0', '10.0.0'].map(versionKey));
    expect(versionKey('1.9.0-beta.2')).toBe(versionKey('1.9.0'));
  });

  it('offers the newest newer release, semver-ordered not text-ordered', () => {
    const d = decideUpdate([rel('1.9.0'), rel('1.10.0'), rel('1.2.0')], q('1.4.2'));
    expect(d.latest?.version).toBe('1.10.0');
    expect(d.between.map((r) => r.version)).toEqual(['1.10.0', '1.9.0']);
  });

  it('channels are cumulative: stable ⊂ beta ⊂ alpha', () => {
    const all = [
      rel('1.5.0'),
      rel('1.6.0-beta.1', { channel: 'beta' }),
      rel('1.7.0-alpha.1', { channel: 'alpha' }),
    ];
    expect(decideUpdate(all, q('1.4.2')).latest?.version).toBe('1.5.0');
    expect(decideUpdate(all, q('1.4.2', { channel: 'beta' })).latest?.version).toBe('1.6.0-beta.1');
    expect(decideUpdate(all, q('1.4.2', { channel: 'alpha' })).latest?.version).toBe('1.7.0-alpha.1');
  });

  it('never offers drafts or yanked releases', () => {
    const d = decideUpdate(
      [rel('1.5.0', { status: 'yanked' }), rel('1.6.0', { status: 'draft', published_at: null })],
      q('1.4.2'),
    );
    expect(d.latest).toBeNull();
    expect(d.between).toEqual([]);
  });

  it('respects min_version: the newest reachable release wins, skipped ones still count', () => {
    const all = [rel('2.0.0', { min_version: '1.5.0' }), rel('1.5.0', { critical: true }), rel('1.4.5')];
    const d = decideUpdate(all, q('1.4.2'));
    expect(d.latest?.version).toBe('1.5.0');
    expect(d.between.map((r) => r.version)).toEqual(['1.5.0', '1.4.5']);
    expect(d.critical).toBe(true);
    expect(decideUpdate(all, q('1.5.0')).latest?.version).toBe('2.0.0');
  });

  it('a lapsed license sees only releases published before its term ended', () => {
    const all = [
      rel('1.5.0', { published_at: '2026-03-01T00:00:00.000Z' }),
      rel('1.6.0', { published_at: '2026-06-01T00:00:00.000Z' }),
    ];
    const d = decideUpdate(all, q('1.4.2', { publishedBefore: '2026-05-01T00:00:00.000Z' }));
    expect(d.latest?.version).toBe('1.5.0');
  });

  it('up to date: no latest; the changelog still shows the running release', () => {
    const d = decideUpdate([rel('1.4.2')], q('1.4.2'));
    expect(d.latest).toBeNull();
    expect(changelogMarkdown(d)).toContain('## WisPanel 1.4.2 (installed)');
  });

  it('changelog lists what the update brings newest first, then the running release', () => {
    const md = changelogMarkdown(
      decideUpdate([rel('1.4.2'), rel('1.5.0', { critical: true }), rel('1.4.3')], q('1.4.2')),
    );
    const heads = md.split('\n').filter((l) => l.startsWith('## '));
    expect(heads).toEqual([
      '## WisPanel 1.5.0 (critical)',
      '## WisPanel 1.4.3',
      '## WisPanel 1.4.2 (installed)',
    ]);
    expect(md).toContain('- changes in 1.5.0');
  });
});
