import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * Crash-safety test hook: `WISPANEL_UPDATE_HOOK=<action>@<step>` (action `pause` or `kill`) makes the process
 * that reaches `<step>` write `<stateDir>/hook-<step>` (its pid) and then stop there forever or SIGKILL itself,
 * so a test can kill -9 the panel or the supervisor exactly at a pipeline step. Unset in production.
 */
export function stepHookFromEnv(
  value: string | undefined,
  stateFile: string,
): ((step: string) => Promise<void>) | undefined {
  if (!value) return undefined;
  const m = /^(pause|kill)@([a-z_:-]+)$/.exec(value.trim());
  if (!m) return undefined;
  const [, action, target] = m as unknown as [string, string, string];
  return async (step: string) => {
    if (step !== target) return;
    const marker = join(dirname(stateFile), `hook-${step.replace(/[^a-z_-]/g, '_')}`);
    mkdirSync(dirname(marker), { recursive: true });
    writeFileSync(marker, String(process.pid));
    if (action === 'kill') process.kill(process.pid, 'SIGKILL');
    await new Promise(() => {
      /* paused until killed */
    });
  };
}
