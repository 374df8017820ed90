import { setFlagsFromString } from 'node:v8';

/**
 * Keeps V8's young generation at its initial size while the panel starts, and lets it grow again once it
 * serves (issue 14: idle memory). Starting allocates a lot of short-lived objects (module evaluation, schema
 * compilation, route registration); with V8's default growth factor 2 the young generation grows to its
 * 16 MB-per-semi-space maximum during the start and its pages stay resident afterwards (~10 MB of RSS an idle
 * panel never uses). Growth factor 1 while starting keeps it at 1 MB per semi-space (more, cheaper scavenges:
 * no measurable start-time cost); the default factor 2 is restored by nurseryCanGrow() once it listens, so
 * under request load it grows as before. Does nothing when the operator tunes the young generation
 * (--semi-space-growth-factor / --max-semi-space-size / --min-semi-space-size in execArgv or NODE_OPTIONS).
 */
let small = false;

/** Called before the server's code loads (the `start` entry of cli-commands.ts). */
export function smallNurseryWhileStarting(): void {
  const flags = `${process.execArgv.join(' ')} ${process.env.NODE_OPTIONS ?? ''}`;
  if (small || /semi[-_]space/.test(flags)) return;
  setFlagsFromString('--semi-space-growth-factor=1');
  small = true;
}

/** Called once the panel listens: back to V8's default growth factor (2). */
export function nurseryCanGrow(): void {
  if (!small) return;
  small = false;
  setFlagsFromString('--semi-space-growth-factor=2');
}
