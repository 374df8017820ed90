import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import base from './vitest.config';

// Used only by `npm run mutate` (stryker.config.mjs), never by `npm test`.
// - Stryker runs the tests in a sandbox copy of the repo whose node_modules is a symlink to the real one, so
//   `@wispanel/*` would resolve to the unmutated packages; the aliases point them at the sandbox's own
//   (mutated) sources instead.
// - The test files come from MUTATE_TEST_FILES (set by stryker.config.mjs for the selected groups). They are
//   chosen here and not with Stryker's `testFiles` option: with that option Stryker 9.6 activates module-level
//   ("static") mutants only after the module has loaded, so they could never be killed.
const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const include = process.env.MUTATE_TEST_FILES?.split(',').filter(Boolean);

export default defineConfig({
  ...base,
  resolve: {
    alias: [
      { find: /^@wispanel\/contract$/, replacement: here('./packages/contract/src/index.ts') },
      { find: /^@wispanel\/kit$/, replacement: here('./packages/kit/src/index.ts') },
      { find: /^@wispanel\/kit\/testing$/, replacement: here('./packages/kit/src/testing.ts') },
      { find: /^@wispanel\/client$/, replacement: here('./packages/client/src/index.ts') },
    ],
  },
  test: { ...base.test, ...(include?.length ? { include } : {}) },
});
