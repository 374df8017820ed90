#!/usr/bin/env node
// The panel's command line: the bundle built at install (packages/panel/dist/cli.mjs) while it matches the
// sources, else the TypeScript sources through tsx (scripts/cli-bundle.mjs). A release runs its own bundle.
import { runCli } from '../../../scripts/cli-bundle.mjs';

await runCli('panel');
