import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@wispanel/kit/testing';
import { describe, expect, it } from 'vitest';
import { buildInfo } from './version';

describe('buildInfo', () => {
  it('reads a release manifest when present', () => {
    const dir = tempDir();
    try {
      const path = join(dir.path, 'release-manifest.json');
      writeFileSync(
        path,
        JSON.stringify({
          version: '1.5.0',
          channel: 'beta',
          build_time: '2026-11-01T00:00:00Z',
          git_commit: 'abc1234',
        }),
      );
      expect(buildInfo({ manifestPath: path })).toEqual({
        version: '1.5.0',
        channel: 'beta',
        build_time: '2026-11-01T00:00:00Z',
        git_commit: 'abc1234',
      });
    } finally {
      dir.remove();
    }
  });

  it('falls back to the root package.json with unknown build facts', () => {
    const root = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    expect(buildInfo({ manifestPath: '/nonexistent/release-manifest.json' })).toEqual({
      version: root.version,
      channel: 'stable',
      build_time: 'unknown',
      git_commit: 'unknown',
    });
  });
});
