/**
 * Import boundaries, enforced by `npm run check` (npm run deps). ARCHITECTURE.md explains each rule.
 * Paths are repository-relative; workspace packages (@wispanel/*) resolve to their packages/<name>/src files.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'No import cycles: a shared helper goes into a leaf file that both sides import.',
      from: { path: '^packages/' },
      to: { circular: true },
    },
    {
      name: 'panel-not-portal',
      severity: 'error',
      comment: 'The panel never imports the portal (tests start it as a process).',
      from: { path: '^packages/panel/' },
      to: { path: '^packages/(portal|portal-console)/' },
    },
    {
      name: 'portal-not-panel',
      severity: 'error',
      comment: 'The portal never imports the panel.',
      from: { path: '^packages/portal/' },
      to: { path: '^packages/(panel|console)/' },
    },
    {
      name: 'contract-is-a-leaf',
      severity: 'error',
      comment: 'contract (wire schemas, codes, signed documents) depends on nothing of ours.',
      from: { path: '^packages/contract/' },
      to: { path: '^packages/(?!contract/)' },
    },
    {
      name: 'kit-and-client-below-services',
      severity: 'error',
      comment: 'kit (server plumbing) and client (HTTP clients) never import a service.',
      from: { path: '^packages/(kit|client)/' },
      to: { path: '^packages/(panel|portal|console|portal-console)/' },
    },
    {
      name: 'client-not-kit',
      severity: 'error',
      comment: "client runs in integrators' programs and browsers: contract only, no server plumbing.",
      from: { path: '^packages/client/' },
      to: { path: '^packages/kit/' },
    },
    {
      name: 'browser-code-not-servers',
      severity: 'error',
      comment:
        "The web consoles talk to the servers over HTTP only; they share contract, client and ui. Their end-to-end tests (test/) start real servers and may use the servers' test helpers.",
      from: {
        path: '^packages/(ui|console|portal-console)/',
        pathNot: '^packages/(console|portal-console)/test/',
      },
      to: { path: '^packages/(panel|portal|kit)/' },
    },
    {
      name: 'routes-not-repositories',
      severity: 'error',
      comment: 'Routes call services; only services (and the composition root) touch repositories.',
      from: { path: '\\.routes\\.ts$' },
      to: { path: '\\.repository\\.ts$' },
    },
    {
      name: 'routes-construct-nothing',
      severity: 'error',
      comment:
        'Route plugins receive their services from the composition root (panel compose.ts, portal context.ts): they may import a service or module file for its types only, never to build one.',
      from: { path: '^packages/(panel|portal)/src/.*\\.routes\\.ts$' },
      to: { path: '\\.(service|module)\\.ts$', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that does not resolve (a typo, a missing package).',
      from: { path: '^packages/' },
      to: { couldNotResolve: true, dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.tsx', '.js', '.mjs', '.cjs', '.json'],
      mainFields: ['module', 'main', 'types'],
    },
  },
};
