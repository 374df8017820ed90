// Stryker test runner `vitest-strict` (used by stryker.config.mjs): @stryker-mutator/vitest-runner 9.6, except
// that a test file which fails outside its tests — it throws while loading, or a beforeAll hook throws (the
// panel tests build their app there) — counts as a failed test. The stock runner only sees the tests, which
// then never ran or were skipped, and so reported such a mutant as "survived" although `npm test` fails on it.
import { INSTRUMENTER_CONSTANTS } from '@stryker-mutator/api/core';
import { commonTokens, declareFactoryPlugin, PluginKind, tokens } from '@stryker-mutator/api/plugin';
import { DryRunStatus, TestStatus } from '@stryker-mutator/api/test-runner';

const stock = await import(
  new URL('../../node_modules/@stryker-mutator/vitest-runner/dist/src/vitest-test-runner.js', import.meta.url)
    .href
);

/** Errors recorded on a file or suite (not on a test): load failures and failing beforeAll/afterAll hooks. */
function suiteErrors(task) {
  if (task.type !== 'suite') return [];
  const own = task.result?.errors ?? [];
  return [...own, ...task.tasks.flatMap(suiteErrors)];
}

class StrictVitestTestRunner extends stock.VitestTestRunner {
  async run(options) {
    const result = await super.run(options);
    if (result.status !== DryRunStatus.Complete) return result;
    const failed = [];
    for (const file of this.ctx.state.getFiles()) {
      const errors = suiteErrors(file);
      if (errors.length === 0) continue;
      failed.push({
        id: `${file.filepath}#(outside a test)`,
        name: `${file.name} (load or hook failure)`,
        status: TestStatus.Failed,
        failureMessage: errors
          .map((e) => e?.message ?? String(e))
          .join('; ')
          .slice(0, 500),
        timeSpentMs: 0,
      });
    }
    return failed.length ? { ...result, tests: [...result.tests, ...failed] } : result;
  }
}

function createStrictRunner(injector) {
  return injector
    .provideValue('globalNamespace', INSTRUMENTER_CONSTANTS.NAMESPACE)
    .injectClass(StrictVitestTestRunner);
}
createStrictRunner.inject = tokens(commonTokens.injector);

export const strykerPlugins = [
  declareFactoryPlugin(PluginKind.TestRunner, 'vitest-strict', createStrictRunner),
];
