import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Crash-safety test hook: `WISPANEL_UPDATE_HOOK=<action>@<step>` makes the process that reaches `<step>` write
 * `<stateDir>/hook-<step>` (its pid) and then: `kill` — SIGKILL itself; `pause` — stop there forever (until
 * killed); `wait` — stop there until a test deletes the marker file, then go on (so a test can fill a disk or
 * kill another process at exactly that point). `file:<path>` reads the rule from that file at each step.
 * Unset in production.
 */
export function stepHookFromEnv(
  value: string | undefined,
  stateFile: string,
): ((step: string) => Promise<void>) | undefined {
  if (!value) return undefined;
  // `file:<path>`: the rule is read from that file at every step, so a test can move it without a restart.
  const fromFile = value.startsWith('file:') ? value.slice(5) : null;
  const rule = (): [string, string] | null => {
    let text = value;
    if (fromFile) {
      try {
        text = readFileSync(fromFile, 'utf8');
      } catch {
        return null;
      }
    }
    const m = /^(pause|kill|wait)@([a-z_:-]+)$/.exec(text.trim());
    return m ? [m[1] as string, m[2] as string] : null;
  };
  if (!fromFile && !rule()) return undefined;
  return async (step: string) => {
    const r = rule();
    if (!r || step !== r[1]) return;
    const marker = join(dirname(stateFile), `hook-${step.replace(/[^a-z_-]/g, '_')}`);
    mkdirSync(dirname(marker), { recursive: true });
    writeFileSync(marker, String(process.pid));
    if (r[0] === 'kill') process.kill(process.pid, 'SIGKILL');
    // A pending promise alone does not keep Node alive: once the supervisor has stopped its child there is
    // nothing else left, so the timer is what makes `pause` pause instead of exiting.
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if (r[0] === 'wait' && !existsSync(marker)) {
          clearInterval(timer);
          resolve();
        }
      }, 100);
    });
  };
}
