#!/usr/bin/env node
// The portal's command line: the bundle built at install (packages/portal/dist/cli.mjs) while it matches the
// sources, else the TypeScript sources through tsx (scripts/cli-bundle.mjs).
import { runCli } from '../../../scripts/cli-bundle.mjs';

await runCli('portal');
