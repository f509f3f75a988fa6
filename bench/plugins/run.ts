import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { clearPluginCache, discoverPlugins } from '../../src/plugins/host/discovery.js';
import { percentile, round } from '../support/stats.js';

/**
 * bench/plugins: what plugin discovery costs with 20 plugins installed as
 * project devDependencies (copies of the good fixture; no plugin code runs).
 * Prints one JSON document:
 * - cold: a fresh Node process importing the discovery module (ajv, semver)
 *   and discovering once (median of runs);
 * - cold_after_config: the same after loading the config, as the daemon
 *   does (ajv is loaded and warm by then): what plugins add to its start;
 * - warm_uncached: discovery again in a warm process with the cache cleared;
 * - cached: the per-process cache answering.
 * The budget the plugins issue sets: under 50 ms for 20 plugins.
 *
 *   npm run build && node dist/bench/plugins/run.js [--quick]
 */
const quick = process.argv.includes('--quick');
const PLUGINS = 20;
const COLD_RUNS = quick ? 3 : 9;
const here = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(here, '..', '..', '..'); // dist/bench/plugins -> the package
const GOOD = join(ROOT, 'tests', 'fixtures', 'plugins', 'good');
const CONFIG = pathToFileURL(join(ROOT, 'dist', 'src', 'app', 'config.js')).href;
const DISCOVERY = pathToFileURL(join(ROOT, 'dist', 'src', 'plugins', 'host', 'discovery.js')).href;

const dir = mkdtempSync(join(tmpdir(), 'loom-bench-plugins-'));
try {
  const deps: Record<string, string> = {};
  for (let i = 0; i < PLUGINS; i++) {
    const name = `loom-plugin-bench${i}`;
    deps[name] = '1.2.0';
    const to = join(dir, 'node_modules', name);
    cpSync(GOOD, to, { recursive: true });
    const pkg = JSON.parse(readFileSync(join(to, 'package.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(to, 'package.json'), JSON.stringify({ ...pkg, name }));
  }
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'bench-project', devDependencies: deps }));
  const env = { LOOM_HOME: join(dir, 'home') };

  const script = (afterConfig: boolean) => `${afterConfig ? `(await import(${JSON.stringify(CONFIG)})).loadConfig(${JSON.stringify(dir)}, ${JSON.stringify(env)});` : ''}
const t0 = performance.now();
const { discoverPlugins } = await import(${JSON.stringify(DISCOVERY)});
const t1 = performance.now();
const r = discoverPlugins({ projectDir: ${JSON.stringify(dir)}, env: ${JSON.stringify(env)} });
const t2 = performance.now();
if (r.plugins.length !== ${PLUGINS} || r.problems.length !== 0) throw new Error('unexpected discovery: ' + JSON.stringify(r.problems));
console.log(JSON.stringify({ import_ms: t1 - t0, discover_ms: t2 - t1, total_ms: t2 - t0 }));`;
  type Run = { import_ms: number; discover_ms: number; total_ms: number };
  const runs = (afterConfig: boolean): Run[] =>
    Array.from({ length: COLD_RUNS }, () => JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script(afterConfig)], { encoding: 'utf8' })) as Run);
  const summary = (list: Run[]) => {
    const med = (k: keyof Run) => round(percentile(list.map((c) => c[k]), 50));
    return { runs: COLD_RUNS, import_ms: med('import_ms'), discover_ms: med('discover_ms'), total_ms: med('total_ms') };
  };
  const cold = summary(runs(false));
  const coldAfterConfig = summary(runs(true));

  const warm: number[] = [];
  for (let i = 0; i < 50; i++) {
    clearPluginCache();
    const t = performance.now();
    discoverPlugins({ projectDir: dir, env });
    warm.push(performance.now() - t);
  }
  const t = performance.now();
  discoverPlugins({ projectDir: dir, env });
  const cached = performance.now() - t;

  console.log(
    JSON.stringify(
      {
        bench: 'plugins',
        plugins: PLUGINS,
        cold,
        cold_after_config: coldAfterConfig,
        warm_uncached_ms: { p50: round(percentile(warm, 50)), p95: round(percentile(warm, 95)) },
        cached_ms: round(cached, 4),
        budget_ms: 50,
      },
      null,
      2,
    ),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
