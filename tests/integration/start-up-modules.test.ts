/**
 * What the embedded daemon loads as it starts (its modules are on the critical path of the
 * first MCP answer of the day): not the libraries only some calls need, which load on first
 * use, and inversify as its one bundled file. ajv's runtime helpers (two small files the
 * compiled validators `require`) are all of ajv it may load. Checked on the built code, in a fresh process,
 * with hooks that print every module loaded.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The modules main.ts and daemon-main.ts import before the daemon says it is ready. */
const DAEMON_START = [
  'dist/src/app/entry/daemon-main.js',
  'dist/src/adapters/embedded/pglite-pool.js',
  'dist/src/adapters/embedded/pglite-template.js',
  'dist/src/app/service-factory.js',
  'dist/src/adapters/postgres/migrator.js',
  'dist/src/app/notifications.js',
  'dist/src/app/plugins.js',
];

const HOOKS = (root: string) => [
  "import { register, createRequire } from 'node:module';",
  "register('data:text/javascript,' + encodeURIComponent('export async function load(u, c, n) { process.stderr.write(\"ESM \" + u + String.fromCharCode(10)); return n(u, c); }'));",
  `const M = createRequire(${JSON.stringify(`${root}/package.json`)})('node:module');`,
  'const load = M._load;',
  "M._load = function (request) { process.stderr.write('CJS ' + request + String.fromCharCode(10)); return load.apply(this, arguments); };",
].join('\n');

/** What `loom mcp` imports (main.ts) to answer its client and forward its calls to the daemon. */
const MCP_START = ['dist/src/app/entry/main.js', 'dist/src/adapters/mcp/early-stdio.js', 'dist/src/app/daemon-launch.js', 'dist/src/app/connector.js', 'dist/src/app/entry/mcp-main.js'];

function modulesLoadedBy(files: string[]): string[] {
  const script = `await import('reflect-metadata'); for (const f of ${JSON.stringify(files.map((f) => pathToFileURL(`${ROOT}/${f}`).href))}) await import(f);`;
  const r = spawnSync(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(HOOKS(ROOT))}`, '--input-type=module', '-e', script], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`loading the daemon's modules failed (exit ${r.status}):\n${r.stderr}`);
  return r.stderr.split('\n').filter((l) => l.startsWith('ESM ') || l.startsWith('CJS '));
}

describe("the embedded daemon's start-up modules", () => {
  it('leave out ajv, CEL, semver and Redis, and take inversify as one file', () => {
    const loaded = modulesLoadedBy(DAEMON_START);
    // The hooks saw the loads: Loom's own modules, the bundle, a CommonJS package.
    expect(loaded).toContain(`ESM ${pathToFileURL(`${ROOT}/dist/src/app/service-factory.js`).href}`);
    expect(loaded).toContain(`ESM ${pathToFileURL(`${ROOT}/dist/src/vendor/inversify.js`).href}`);
    expect(loaded.some((l) => /^CJS .*node_modules\/pg\//.test(l))).toBe(true);
    // ajv: the API's validators are compiled ahead of time (api-validators.generated.ts); the rest load it on first use.
    const notAtStart = loaded.filter((l) => !l.includes('ajv/dist/runtime/')).filter((l) => /node_modules\/(ajv|@marcbachmann\/cel-js|semver|ioredis|inversify|@inversifyjs)\//.test(l) || /^(CJS|ESM) (ajv|semver|ioredis|@marcbachmann\/cel-js|inversify)(\/|$)/.test(l));
    expect(notAtStart).toEqual([]);
  });
});

describe("loom mcp's modules (its daemon starts meanwhile, on the same cores)", () => {
  it('take the MCP SDK as one bundle, and leave out its HTTP transport, ajv, the API validators and the store', () => {
    const loaded = modulesLoadedBy(MCP_START);
    expect(loaded).toContain(`ESM ${pathToFileURL(`${ROOT}/dist/src/vendor/mcp-sdk.js`).href}`);
    expect(loaded).toContain(`ESM ${pathToFileURL(`${ROOT}/dist/src/adapters/mcp/tool-validators.generated.js`).href}`);
    const heavy = loaded
      .filter((l) => !l.includes('ajv/dist/runtime/'))
      .filter(
        (l) =>
          /node_modules\/(@modelcontextprotocol|zod|ajv|ajv-formats|@electric-sql|pg|inversify|@inversifyjs|ioredis)\//.test(l) ||
          /^(CJS|ESM) (ajv|zod|pg|ioredis|inversify)(\/|$)/.test(l) ||
          /dist\/src\/app\/(schemas|api-validators\.generated|service-factory)\.js$/.test(l) ||
          /dist\/src\/vendor\/mcp-sdk-http\.js$/.test(l),
      );
    expect(heavy).toEqual([]);
  });
});
