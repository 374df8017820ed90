#!/usr/bin/env node
// Runs the panel's command line from TypeScript sources (a release runs its compiled bundle instead).
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
