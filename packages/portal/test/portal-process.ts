import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

/** Shared by the portal's end-to-end tests: the repository root and the `wispanel-portal` bin. */
export const root = new URL('../../..', import.meta.url).pathname;
export const bin = join(root, 'packages/portal/bin/wispanel-portal.mjs');

export interface StartedPortal {
  url: string;
  child: ChildProcess;
  /** SIGTERM to the process group; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts `wispanel-portal start --port 0 --json …` as a real process (through `npx` when asked, as an operator
 * would) and resolves once it prints its URL.
 */
export function startPortal(args: string[], options: { viaNpx?: boolean } = {}): Promise<StartedPortal> {
  const cmd = options.viaNpx ? 'npx' : process.execPath;
  const argv = options.viaNpx
    ? ['wispanel-portal', 'start', '--port', '0', '--json', ...args]
    : [bin, 'start', '--port', '0', '--json', ...args];
  const child = spawn(cmd, argv, { cwd: root, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr?.on('data', (d) => {
    err += d;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`portal did not start: ${err}`)), 45_000);
    child.stdout?.on('data', (d) => {
      out += d;
      const at = out.indexOf('{');
      const end = out.lastIndexOf('}');
      if (at < 0 || end < at) return;
      try {
        const info = JSON.parse(out.slice(at, end + 1)) as { url: string };
        clearTimeout(timer);
        resolve({
          url: info.url,
          child,
          stop: async () => {
            try {
              if (child.pid) process.kill(-child.pid, 'SIGTERM');
            } catch {
              // already gone
            }
            return exited;
          },
        });
      } catch {
        // JSON not complete yet
      }
    });
    child.on('exit', (code) => reject(new Error(`portal exited with ${code}: ${err}`)));
  });
}
