import { readFileSync } from 'node:fs';

/** The portal's version, from its package.json. */
export const PORTAL_VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
