/**
 * Layering rules from DESIGN.md ("Import rules"), checked in CI by
 * `npm run lint:layers` (depcruise src examples tests/fixtures/plugins --config .dependency-cruiser.cjs).
 *
 *   domain   imports only domain (pure: no node builtins, no npm packages)
 *   ports    import only domain and ports (+ `inversify`, for ServiceIdentifier types only)
 *   adapters import their own folder, ports, domain, npm packages and node builtins;
 *            never app, never another adapter
 *   plugins  (src/plugins: the plugin host, the API version) import src/plugins, ports, domain,
 *            npm packages and node builtins; never app, never adapters (app wires them in)
 *   app      is imported by nobody but app itself (and bin/)
 *   src/plugins/api.ts (the public plugin API) imports at run time only src/plugins/api-version.ts
 *   plugin code (examples/, tests/fixtures/plugins/) imports Loom only as `loom-agents/plugin`
 *   no import cycles
 *
 * @type {import('dependency-cruiser').IConfiguration}
 */
module.exports = {
  forbidden: [
    {
      name: 'domain-is-pure',
      severity: 'error',
      comment:
        'src/domain imports only src/domain: no node builtins, no npm packages, no ports/app/adapters. ' +
        'Time, ids and randomness come in as arguments.',
      from: { path: '^src/domain/' },
      to: { pathNot: '^src/domain/' },
    },
    {
      name: 'ports-import-only-domain',
      severity: 'error',
      comment:
        'src/ports holds interfaces and DI tokens: it imports only src/domain, other ports, and inversify (for ServiceIdentifier).',
      from: { path: '^src/ports/' },
      to: { pathNot: ['^src/(domain|ports)/', '(^|/)node_modules/inversify/'] },
    },
    {
      name: 'ports-use-inversify-for-types-only',
      severity: 'error',
      comment: 'ports use inversify only for types (`import type { ServiceIdentifier } from "inversify"`), never at run time.',
      from: { path: '^src/ports/' },
      to: { path: '(^|/)node_modules/inversify/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'adapters-not-to-app',
      severity: 'error',
      comment: 'adapters are wired by the composition root in src/app; they never import it.',
      from: { path: '^src/adapters/' },
      to: { path: '^src/app/' },
    },
    {
      name: 'adapters-not-to-other-adapters',
      severity: 'error',
      comment: 'an adapter imports only its own folder, ports, domain and npm packages; never another adapter.',
      from: { path: '^src/adapters/([^/]+)/' },
      to: { path: '^src/adapters/', pathNot: '^src/adapters/$1/' },
    },
    {
      name: 'adapters-only-to-ports-and-domain',
      severity: 'error',
      comment:
        'inside src, an adapter may import only its own folder, src/ports and src/domain (app and other ' +
        'adapters have their own rules above; this catches the rest, e.g. src/plugins).',
      from: { path: '^src/adapters/' },
      to: { path: '^src/', pathNot: ['^src/(adapters|app|ports|domain)/'] },
    },
    {
      name: 'plugins-only-to-plugins-ports-and-domain',
      severity: 'error',
      comment:
        'src/plugins (discovery, the manifest, the API version) imports only src/plugins, src/ports, src/domain, npm ' +
        'packages and node builtins; the composition root in src/app turns what it finds into sources.',
      from: { path: '^src/plugins/' },
      to: { path: '^src/', pathNot: ['^src/(plugins|ports|domain)/'] },
    },
    {
      name: 'app-only-from-app',
      severity: 'error',
      comment: 'only the composition root and use cases (src/app) and the bin/ entry import src/app.',
      from: { pathNot: ['^src/app/', '^bin/'] },
      to: { path: '^src/app/' },
    },
    {
      name: 'plugin-api-imports-nothing-at-run-time',
      severity: 'error',
      comment:
        'src/plugins/api.ts is the published `loom-agents/plugin` entry: a plugin importing it must load none of ' +
        "Loom's internals, so at run time it imports only src/plugins/api-version.ts (types may come from domain and ports).",
      from: { path: '^src/plugins/api\\.ts$' },
      to: { pathNot: '^src/plugins/api-version\\.ts$', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'plugin-api-types-from-domain-and-ports',
      severity: 'error',
      comment: 'the public plugin API may name types of src/domain and src/ports only (its .d.ts ships with them).',
      from: { path: '^src/plugins/api\\.ts$' },
      to: { dependencyTypes: ['type-only'], pathNot: '^src/(domain|ports|plugins)/' },
    },
    {
      name: 'api-version-imports-nothing',
      severity: 'error',
      comment: 'src/plugins/api-version.ts is a leaf: the plugin API and the plugin host both read it.',
      from: { path: '^src/plugins/api-version\\.ts$' },
      to: {},
    },
    {
      name: 'plugin-code-only-through-public-api',
      severity: 'error',
      comment:
        'plugin packages (examples/, tests/fixtures/plugins/) are other people\'s code: they reach Loom only through ' +
        'the public plugin API, `loom-agents/plugin` (src/plugins/api.ts; tsconfig paths maps the specifier), never a file of src.',
      from: { path: '^(examples|tests/fixtures/plugins)/' },
      to: { path: '^src/', pathNot: '^src/plugins/api\\.ts$' },
    },
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'import cycles make load order fragile and blur the layers; break the cycle.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment:
        'every import must resolve (a mistyped specifier would otherwise slip past the layering rules above, ' +
        'which match resolved paths).',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: a port importing an app type is still a layering breach.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // Relative imports are written with .js (NodeNext) and resolve to the .ts sources.
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'types', 'default'],
      mainFields: ['module', 'main', 'types', 'typings'],
      extensions: ['.ts', '.d.ts', '.js', '.mjs', '.cjs', '.json'],
    },
    skipAnalysisNotInRules: true,
    reporterOptions: {
      text: { highlightFocused: true },
    },
  },
};
