import { pbkdf2, randomBytes } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { tempDir } from '@wispanel/kit/testing';
import { describe, expect, it } from 'vitest';
import { ArtifactStore, ArtifactTooLargeError } from './artifact-store';

describe('artifact store', () => {
  const dir = tempDir();

  it('an upload refused on its first chunk leaves no .part file, even once the file open completes', async () => {
    const store = new ArtifactStore(join(dir.path, 'artifacts'), 1024);
    // The oversize chunk arrives before the write stream has opened its file: the refusal races the open.
    // pipeline() rejects before the destroyed write stream has closed (measured on Node 20: 20 of 20), so the
    // cleanup must wait for the close. Busy thread-pool work (as under CI load) widens the race window.
    for (let i = 0; i < 20; i++) {
      for (let j = 0; j < 4; j++) pbkdf2('x', 'y', 20_000, 32, 'sha512', () => {});
      const err = await store.write('1.0.0', 'a.tar.gz', Readable.from([randomBytes(4096)])).catch((e) => e);
      expect(err).toBeInstanceOf(ArtifactTooLargeError);
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(readdirSync(join(dir.path, 'artifacts', '.incoming'))).toEqual([]);
  });
});
