import { writeFileSync } from 'node:fs';
import { type App, AppError } from '@wispanel/kit';

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * The panel side of the update health gate, driven by the supervisor through the environment of the process it
 * starts (docs/updates.md, "No acknowledged write is lost"):
 *
 * - `WISPANEL_WRITE_GATE=hold`: this release is on trial (switched to, not yet committed). Every request that
 *   could write (anything but GET/HEAD/OPTIONS) is refused with 503 `UPDATE_WRITES_HELD` and `Retry-After`
 *   until the supervisor sends `wispanel:writes-open` over IPC at the commit. A rollback restores the
 *   pre-update database, so the trial release must not acknowledge anything that exists only in it.
 * - `WISPANEL_WRITE_MARKER=<file>`: during probation, the file is written (synchronously, before the answer
 *   leaves) on the first successful write: from then on, a probation rollback must not restore the backup.
 */
export function installWriteGate(app: App, env: NodeJS.ProcessEnv = process.env): void {
  const marker = env.WISPANEL_WRITE_MARKER || null;
  let held = env.WISPANEL_WRITE_GATE === 'hold';
  if (!held && !marker) return;
  const retry = /^\d+$/.test(env.WISPANEL_WRITE_GATE_RETRY ?? '')
    ? (env.WISPANEL_WRITE_GATE_RETRY as string)
    : '20';
  if (held) {
    const open = (msg: unknown) => {
      if ((msg as { type?: string })?.type === 'wispanel:writes-open') {
        held = false;
        process.off('message', open);
      }
    };
    process.on('message', open);
  }
  app.addHook('onRequest', async (req) => {
    if (!held || SAFE.has(req.method)) return;
    throw new AppError(
      'UPDATE_WRITES_HELD',
      `An update is being health-checked: changes are refused until it is committed or rolled back; retry in ${retry} s`,
      { headers: { 'retry-after': retry } },
    );
  });
  if (!marker) return;
  let marked = false;
  app.addHook('onSend', async (req, reply, payload) => {
    if (marked || held || SAFE.has(req.method) || reply.statusCode < 200 || reply.statusCode >= 300)
      return payload;
    try {
      writeFileSync(marker, `${new Date().toISOString()} ${req.method} ${req.url.split('?')[0]}\n`, {
        mode: 0o600,
      });
      marked = true;
    } catch (err) {
      req.log.error({ err }, 'could not record the first write since the update commit');
    }
    return payload;
  });
}
