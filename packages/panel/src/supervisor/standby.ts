/**
 * Pre-warming for the hand-over (docs/updates.md, "API downtime"): a process started with `WISPANEL_STANDBY=1`
 * has loaded its code and waits here for `{ type: 'wispanel:go' }` from its parent before it does anything
 * (opening the database, binding the port). It exits when its parent goes away first.
 */
export function isStandby(): boolean {
  return process.env.WISPANEL_STANDBY === '1' && typeof process.send === 'function';
}

export function waitForGo(): Promise<void> {
  return new Promise((resolve) => {
    const bye = () => process.exit(0);
    const on = (msg: unknown) => {
      if ((msg as { type?: string })?.type !== 'wispanel:go') return;
      process.off('message', on);
      process.off('disconnect', bye);
      resolve();
    };
    process.on('message', on);
    process.once('disconnect', bye);
  });
}
