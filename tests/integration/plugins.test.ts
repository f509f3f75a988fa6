/**
 * Plugins from the fixtures under tests/fixtures/plugins: discovery finds the
 * good plugin from a project's devDependencies (a temp node_modules, no
 * network), from the user folder ($LOOM_HOME/plugins) and from plugins.paths;
 * the service over PGlite serves its skill as good/review_pack and runs its
 * workflow as good/review_flow; each bad fixture is reported with its code
 * while the others keep working. No plugin code runs anywhere here.
 */
import { openTestPglite } from '../support/pglite.js';
import { cpSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PglitePool } from '../../src/adapters/embedded/pglite-pool.js';
import { migrate } from '../../src/adapters/postgres/migrator.js';
import { loadConfig } from '../../src/app/config.js';
import { listPlugins } from '../../src/app/plugins.js';
import { serviceForPool } from '../../src/app/service-factory.js';
import { clearPluginCache, discoverPlugins } from '../../src/plugins/host/discovery.js';
import type { LoomApi } from '../../src/ports/loom-api.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'plugins');
const BAD = ['invalid-manifest', 'api-out-of-range', 'duplicate-id', 'path-escape', 'duplicate-skill'] as const;
const temps: string[] = [];
const temp = (prefix: string): string => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

/** A project whose package.json depends on fixtures (by `file:` paths), each copied into its node_modules as npm would. */
function projectWith(deps: Record<string, string>, field: 'dependencies' | 'devDependencies' = 'devDependencies'): string {
  const dir = temp('loom-plugins-project-');
  const spec: Record<string, string> = {};
  for (const [name, fixture] of Object.entries(deps)) {
    spec[name] = `file:${join(FIXTURES, fixture)}`;
    cpSync(join(FIXTURES, fixture), join(dir, 'node_modules', name), { recursive: true });
  }
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', dependencies: { 'left-pad': '^1.0.0' }, [field]: spec }));
  // An ordinary dependency, installed: not a plugin, so not listed.
  mkdirSync(join(dir, 'node_modules', 'left-pad'), { recursive: true });
  writeFileSync(join(dir, 'node_modules', 'left-pad', 'package.json'), JSON.stringify({ name: 'left-pad', version: '1.3.0' }));
  return dir;
}

const emptyHome = (): NodeJS.ProcessEnv => ({ LOOM_HOME: temp('loom-plugins-home-') });

describe('plugin discovery', () => {
  beforeAll(() => clearPluginCache());

  it("finds the good plugin from the project's devDependencies, resolved as Node does", () => {
    const dir = projectWith({ 'loom-plugin-good': 'good' });
    const { plugins, problems } = discoverPlugins({ projectDir: dir, env: emptyHome() });
    expect(problems).toEqual([]);
    expect(plugins).toEqual([
      expect.objectContaining({
        id: 'good',
        package: 'loom-plugin-good',
        version: '1.2.0',
        source: 'project',
        dir: realpathSync(join(dir, 'node_modules', 'loom-plugin-good')),
        api_version: '^1.0.0',
        api_fits: true,
        trusted: false,
        skills: realpathSync(join(dir, 'node_modules', 'loom-plugin-good', 'skills')),
        workflows: realpathSync(join(dir, 'node_modules', 'loom-plugin-good', 'workflows')),
        main: null,
        errors: [],
      }),
    ]);
  });

  it('finds a dependency installed in a parent folder (a workspace) too', () => {
    const root = projectWith({ 'loom-plugin-good': 'good' }, 'dependencies');
    const child = join(root, 'packages', 'app');
    mkdirSync(child, { recursive: true });
    writeFileSync(join(child, 'package.json'), JSON.stringify({ name: 'child', dependencies: { 'loom-plugin-good': '*' } }));
    const { plugins } = discoverPlugins({ projectDir: child, env: emptyHome() });
    expect(plugins.map((p) => [p.id, p.source])).toEqual([['good', 'project']]);
  });

  it('finds the good plugin in the user folder ($LOOM_HOME/plugins, an npm prefix)', () => {
    const env = emptyHome();
    const prefix = join(env.LOOM_HOME!, 'plugins');
    mkdirSync(prefix, { recursive: true });
    writeFileSync(join(prefix, 'package.json'), JSON.stringify({ dependencies: { 'loom-plugin-good': '1.2.0' } }));
    cpSync(join(FIXTURES, 'good'), join(prefix, 'node_modules', 'loom-plugin-good'), { recursive: true });
    const { plugins, problems } = discoverPlugins({ projectDir: temp('loom-plugins-empty-'), env, trust: ['good'] });
    expect(problems).toEqual([]);
    expect(plugins.map((p) => [p.id, p.source, p.trusted])).toEqual([['good', 'user', true]]);
  });

  it('finds the good plugin from plugins.paths (relative to the project)', () => {
    const dir = temp('loom-plugins-paths-');
    const { plugins, problems } = discoverPlugins({ projectDir: dir, env: emptyHome(), paths: [relative(dir, join(FIXTURES, 'good'))] });
    expect(problems).toEqual([]);
    expect(plugins.map((p) => [p.id, p.source, p.dir])).toEqual([['good', 'path', realpathSync(join(FIXTURES, 'good'))]]);
  });

  it('reports each bad fixture with its code; the good plugin and the duplicate-skill plugin stay usable', () => {
    const dir = projectWith({ 'loom-plugin-good': 'good' });
    const t0 = performance.now();
    const { plugins, problems } = discoverPlugins({
      projectDir: dir,
      env: emptyHome(),
      paths: [...BAD.map((b) => join(FIXTURES, b)), 'no-such-plugin', '.'],
      trust: ['good', 'nobody'],
    });
    const ms = performance.now() - t0;
    console.log(`plugin discovery, fixtures (2 sources, ${plugins.length} plugins, uncached): ${ms.toFixed(1)} ms`);
    const codes = (id: string) => plugins.filter((p) => p.package.endsWith(id)).flatMap((p) => p.errors.map((e) => [e.code, e.field]));
    expect(codes('good')).toEqual([]);
    expect(codes('invalid-manifest')).toEqual([
      ['PLUGIN_MANIFEST_INVALID', 'loom.colour'],
      ['PLUGIN_MANIFEST_INVALID', 'loom.apiVersion'],
      ['PLUGIN_MANIFEST_INVALID', 'loom.skills'],
    ]);
    expect(codes('api-out-of-range')).toEqual([['PLUGIN_API_MISMATCH', 'loom.apiVersion']]);
    expect(plugins.find((p) => p.id === 'api-out-of-range')?.api_fits).toBe(false);
    expect(codes('good-copy')).toEqual([['PLUGIN_DUPLICATE_ID', 'loom.id']]);
    const dup = problems.find((p) => p.code === 'PLUGIN_DUPLICATE_ID')!;
    expect(dup.message).toContain('loom-plugin-good-copy');
    expect(dup.message).toContain('already taken by loom-plugin-good ');
    expect(codes('path-escape')).toEqual([['PLUGIN_PATH_ESCAPE', 'loom.skills']]);
    expect(codes('duplicate-skill')).toEqual([]);
    // A configured path that is no package, and one that is no plugin (the project itself).
    expect(problems.filter((p) => p.code === 'PLUGIN_NOT_FOUND').map((p) => p.package)).toEqual(['no-such-plugin']);
    expect(problems.filter((p) => p.code === 'PLUGIN_NOT_A_PLUGIN').map((p) => p.package)).toEqual(['.']);
    expect(problems.filter((p) => p.severity === 'warning')).toEqual([expect.objectContaining({ code: 'PLUGIN_TRUST_UNKNOWN', id: 'nobody', field: 'plugins.trust' })]);
    expect(plugins.find((p) => p.id === 'good' && p.errors.length === 0)?.trusted).toBe(true);
    // Trust names an id: the plugin refused for taking that id is not trusted with it.
    expect(plugins.find((p) => p.package === 'loom-plugin-good-copy')?.trusted).toBe(false);
    for (const p of problems) {
      expect(p.code).toMatch(/^PLUGIN_[A-Z_]+$/);
      expect(p.hint.length).toBeGreaterThan(0);
    }
    // Cached per process: the same scope answers from memory, trust applied afresh.
    const t1 = performance.now();
    const again = discoverPlugins({ projectDir: dir, env: emptyHome(), paths: [...BAD.map((b) => join(FIXTURES, b)), 'no-such-plugin', '.'], trust: [] });
    console.log(`plugin discovery, same scope again (new LOOM_HOME so uncached): ${(performance.now() - t1).toFixed(1)} ms`);
    expect(again.plugins.every((p) => !p.trusted)).toBe(true);
  });

  it('reads plugins.paths and plugins.trust from the config files, and refuses a bad trust id', async () => {
    const dir = temp('loom-plugins-config-');
    const env = emptyHome();
    mkdirSync(join(dir, '.loom'));
    writeFileSync(join(dir, '.loom', 'config.yaml'), `plugins:\n  paths: [${JSON.stringify(join(FIXTURES, 'good'))}]\n  trust: [good]\n`);
    const config = loadConfig(dir, env);
    expect(config.plugins).toEqual({ paths: [join(FIXTURES, 'good')], trust: ['good'] });
    const list = await listPlugins({ projectDir: dir, env, plugins: config.plugins });
    expect(list.plugins).toEqual([expect.objectContaining({ id: 'good', trusted: true, active: true, contributes: { skills: 1, workflows: 1, code: false, notifier_types: [], runner_types: [] } })]);
    expect(loadConfig(temp('loom-plugins-noconfig-'), env).plugins).toEqual({ paths: [], trust: [] });
    writeFileSync(join(dir, '.loom', 'config.yaml'), 'plugins:\n  trust: ["Not An Id"]\n');
    expect(() => loadConfig(dir, env)).toThrow(/plugins\.trust/);
  });
});

describe('plugin content in the service (PGlite)', () => {
  let lite: PglitePool;
  let api: LoomApi;
  let projectId: string;
  let projectDir: string;

  beforeAll(async () => {
    clearPluginCache();
    projectDir = projectWith({ 'loom-plugin-good': 'good' });
    lite = await openTestPglite();
    await migrate(lite.pool);
    api = serviceForPool(lite.pool, {
      ownsPool: false,
      skills: { projectDir, env: emptyHome(), plugins: { paths: BAD.map((b) => join(FIXTURES, b)), trust: [] } },
    }).service;
    projectId = (await api.createProject({ name: 'plugins' })).id;
  }, 60_000);
  afterAll(async () => {
    await api?.close();
    await lite?.close();
  });

  it("lists the good plugin's skill as good/review_pack, and none of the broken plugins' skills", async () => {
    const { skills, problems } = await api.skills({ project_id: projectId });
    const fromPlugins = skills.filter((s) => s.source.startsWith('plugin:')).map((s) => [s.name, s.source]);
    expect(fromPlugins.sort()).toEqual([
      ['duplicate-skill/twice', 'plugin:duplicate-skill'],
      ['good/review_pack', 'plugin:good'],
    ]);
    // Builtin skills are still there.
    expect(skills.map((s) => s.name)).toContain('write_spec');
    // The duplicate skill name inside one plugin: the registry's own report.
    expect(problems).toEqual([expect.objectContaining({ reason: expect.stringMatching(/skill duplicate-skill\/twice is already defined in .*twice_a\.md \(same source\)/) })]);
    const shown = await api.skill({ project_id: projectId, name: 'good/review_pack' });
    expect(shown.body).toContain('Review pack');
  });

  it('runs the good workflow as good/review_flow, its review step using the plugin skill', async () => {
    const { workflows } = await api.workflows({ project_id: projectId });
    expect(workflows.filter((w) => w.source.startsWith('plugin:')).map((w) => w.name)).toEqual(['good/review_flow']);
    const run = await api.runWorkflow({ project_id: projectId, name: 'good/review_flow', inputs: { change: 'rename the config key' } });
    expect(run.stage).toBe('started');
    if (run.stage !== 'started') return;
    expect(Object.keys(run.steps).sort()).toEqual(['implement', 'review']);
    const { task: review } = await api.status({ project_id: projectId, task_id: run.steps.review![0]! });
    expect(review.title).toBe('Review: rename the config key');
    expect(review.status).toBe('blocked');
  });
});
