import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Crash-safety test hook: `WISPANEL_UPDATE_HOOK=<action>@<step>` (action `pause` or `kill`) makes the process
 * that reaches `<step>` write `<stateDir>/hook-<step>` (its pid) and then stop there forever or SIGKILL itself,
 * so a test can kill -9 the panel or the supervisor exactly at a pipeline step (`file:<path>` reads the rule
 * from a file at each step). Unset in production.
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
    const m = /^(pause|kill)@([a-z_:-]+)$/.exec(text.trim());
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
    await new Promise(() => {
      /* paused until killed */
    });
  };
}
