/**
 * The plugin management commands end to end with the built binary, each test
 * with its own LOOM_HOME and project folder: trust and untrust show in
 * `loom plugins list` (user config by default, the project's with
 * --project, comments kept); `plugins add` installs a plugin folder into
 * $LOOM_HOME/plugins with npm (no network: a local folder) and `plugins
 * remove` takes it out again; a package that is not a plugin is refused and
 * leaves nothing installed; `plugins new` writes a package whose own test
 * passes and whose skill and workflow Loom serves.
 */
import { execFile } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loom, loomJson, ROOT } from '../support/loom-cli.js';

const GOOD = join(ROOT, 'tests', 'fixtures', 'plugins', 'good');
const EXAMPLE = join(ROOT, 'examples', 'loom-plugin-example');
const TEST_TIMEOUT_MS = 300_000;

interface Scene {
  dir: string;
  home: string;
  env: Record<string, string>;
  run: (args: string[]) => ReturnType<typeof loom>;
  json: <T = any>(args: string[]) => Promise<T>;
}

const scenes: Scene[] = [];
afterEach(async () => {
  for (const s of scenes.splice(0)) {
    if (existsSync(join(s.dir, '.loom', 'data'))) await s.run(['daemon', 'stop']);
    rmSync(s.dir, { recursive: true, force: true });
    rmSync(s.home, { recursive: true, force: true });
  }
}, TEST_TIMEOUT_MS);

/** A project folder (a .loom/config.yaml with `config`, no database yet) and an empty LOOM_HOME of its own. */
function scene(config: string): Scene {
  const dir = mkdtempSync(join(tmpdir(), 'loom-plugins-cli-'));
  const home = mkdtempSync(join(tmpdir(), 'loom-plugins-cli-home-'));
  mkdirSync(join(dir, '.loom'));
  writeFileSync(join(dir, '.loom', 'config.yaml'), config);
  const env = { LOOM_HOME: home, LOOM_DAEMON_IDLE_SECONDS: '60' };
  const s: Scene = { dir, home, env, run: (args) => loom(dir, args, env), json: (args) => loomJson(dir, args, env) };
  scenes.push(s);
  return s;
}

const listed = async (s: Scene) => (await s.json<{ plugins: Array<{ id: string; trusted: boolean; source: string; dir: string }> }>(['plugins', 'list'])).plugins;

describe('loom plugins trust / untrust / add / remove / new (built binary)', () => {
  it('trust and untrust a plugin: the user config by default, the project config with --project, comments kept', async () => {
    const s = scene(`# the team's config\nplugins:\n  paths: [${JSON.stringify(GOOD)}] # our plugin\n`);
    expect((await listed(s)).find((p) => p.id === 'good')?.trusted).toBe(false);

    const unknown = await s.run(['plugins', 'trust', 'nope']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('PLUGIN_NOT_FOUND');
    expect(unknown.stderr).toContain('good');
    expect(existsSync(join(s.home, 'config.yaml'))).toBe(false);

    const trusted = await s.json(['plugins', 'trust', 'good']);
    expect(trusted).toMatchObject({ id: 'good', changed: true, scope: 'user', config_path: join(s.home, 'config.yaml'), main: null });
    expect((await listed(s)).find((p) => p.id === 'good')?.trusted).toBe(true);
    const again = await s.run(['plugins', 'trust', 'good']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('trusted already');

    const untrusted = await s.json(['plugins', 'untrust', 'good']);
    expect(untrusted.removed_from).toEqual([{ scope: 'user', config_path: join(s.home, 'config.yaml') }]);
    expect((await listed(s)).find((p) => p.id === 'good')?.trusted).toBe(false);
    const none = await s.run(['plugins', 'untrust', 'good']);
    expect(none.code).toBe(0);
    expect(none.stdout).toContain('not trusted');

    // For the team: the project's file, its comments kept.
    expect(await s.json(['plugins', 'trust', 'good', '--project'])).toMatchObject({ changed: true, scope: 'project' });
    const projectConfig = readFileSync(join(s.dir, '.loom', 'config.yaml'), 'utf8');
    expect(projectConfig).toContain("# the team's config");
    expect(projectConfig).toContain('# our plugin');
    expect(projectConfig).toMatch(/trust:\s*\n\s*- good/);
    expect((await listed(s)).find((p) => p.id === 'good')?.trusted).toBe(true);
    expect((await s.json(['plugins', 'untrust', 'good'])).removed_from).toEqual([{ scope: 'project', config_path: join(s.dir, '.loom', 'config.yaml') }]);
    expect(readFileSync(join(s.dir, '.loom', 'config.yaml'), 'utf8')).toContain('# our plugin');

    // A broken user config is named and left alone.
    writeFileSync(join(s.home, 'config.yaml'), 'plugins: [\n');
    const broken = await s.run(['plugins', 'trust', 'good']);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain('CONFIG_INVALID');
    expect(broken.stderr).toContain(join(s.home, 'config.yaml'));
    expect(readFileSync(join(s.home, 'config.yaml'), 'utf8')).toBe('plugins: [\n');
  }, TEST_TIMEOUT_MS);

  it('add installs a plugin folder into $LOOM_HOME/plugins, remove takes it out again (and its trust)', async () => {
    const s = scene('# nothing here yet\n');
    const added = await s.json(['plugins', 'add', EXAMPLE]);
    expect(added).toMatchObject({ scope: 'user', installed: true, added: true, plugin: { id: 'example', package: 'loom-plugin-example', source: 'user', trusted: false } });
    expect(added.command).toEqual(expect.arrayContaining(['--ignore-scripts', '--prefix', join(s.home, 'plugins')]));
    const human = await s.run(['plugins', 'list']);
    expect(human.stdout).toMatch(/example\s+loom-plugin-example@0\.1\.0\s+user/);
    const example = (await listed(s)).find((p) => p.id === 'example');
    expect(example?.source).toBe('user');
    expect(example?.dir.startsWith(join(s.home, 'plugins', 'node_modules'))).toBe(true);

    await s.json(['plugins', 'trust', 'example']);
    const removed = await s.json(['plugins', 'remove', 'example']);
    expect(removed).toMatchObject({ id: 'example', source: 'user', removed: true, untrusted_in: join(s.home, 'config.yaml') });
    expect((await listed(s)).map((p) => p.id)).not.toContain('example');
    expect(existsSync(join(s.home, 'plugins', 'node_modules', 'loom-plugin-example'))).toBe(false);
    expect(readFileSync(join(s.home, 'config.yaml'), 'utf8')).not.toMatch(/-\s*example/);

    const gone = await s.run(['plugins', 'remove', 'example']);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toContain('PLUGIN_NOT_FOUND');
  }, TEST_TIMEOUT_MS);

  it('add refuses a package that is not a plugin and leaves nothing installed; --project only prints the npm line', async () => {
    const s = scene('# nothing here yet\n');
    mkdirSync(join(s.dir, 'not-a-plugin-folder'));
    writeFileSync(join(s.dir, 'not-a-plugin-folder', 'package.json'), JSON.stringify({ name: 'not-a-plugin', version: '1.0.0' }));
    const r = await s.run(['plugins', 'add', './not-a-plugin-folder']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('PLUGIN_NOT_A_PLUGIN');
    expect(JSON.parse(readFileSync(join(s.home, 'plugins', 'package.json'), 'utf8')).dependencies ?? {}).toEqual({});
    // Nothing but Loom's own link (loom-agents -> the running Loom, which user plugins import).
    expect(readdirSync(join(s.home, 'plugins', 'node_modules')).filter((n) => !n.startsWith('.'))).toEqual(['loom-agents']);
    expect(lstatSync(join(s.home, 'plugins', 'node_modules', 'loom-agents')).isSymbolicLink()).toBe(true);

    const flag = await s.run(['plugins', 'add', '--', '--global']);
    expect(flag.code).toBe(1);
    expect(flag.stderr).toContain('VALIDATION_FAILED');

    const project = await s.run(['plugins', 'add', 'loom-plugin-example', '--project']);
    expect(project.code).toBe(0);
    expect(project.stdout).toContain('npm i -D loom-plugin-example');
  }, TEST_TIMEOUT_MS);

  it("new writes a plugin whose own test passes and whose skill, workflow and runner Loom serves", async () => {
    const s = scene('plugins:\n  paths: [./loom-plugin-demo]\n');
    const made = await s.json(['plugins', 'new', 'demo']);
    const pkg = join(s.dir, 'loom-plugin-demo');
    expect(made).toMatchObject({ id: 'demo', package: 'loom-plugin-demo', dir: pkg });
    const bad = await s.run(['plugins', 'new', '../demo']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('VALIDATION_FAILED');
    expect((await s.run(['plugins', 'new', 'demo'])).stderr).toContain('CONFLICT');

    // The steps it prints, as a newcomer runs them: a real `npm install` (Loom is not on the npm
    // registry, so the package links the running Loom as its dev copy of loom-agents) and `npm test`.
    expect(JSON.parse(readFileSync(join(pkg, 'package.json'), 'utf8')).devDependencies['loom-agents']).toBe(`file:${ROOT}`);
    const npm = (args: string[]) =>
      new Promise<{ code: number; out: string }>((resolve) => {
        execFile('npm', args, { cwd: pkg, timeout: 180_000, env: { ...process.env, CI: '1', npm_config_fund: 'false', npm_config_audit: 'false', npm_config_update_notifier: 'false' } }, (error, stdout, stderr) =>
          resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, out: `${stdout}${stderr}` }),
        );
      });
    const install = await npm(['install', '--prefer-offline']);
    expect(install.out).not.toMatch(/ERR/);
    expect(install.code).toBe(0);
    expect(lstatSync(join(pkg, 'node_modules', 'loom-agents')).isSymbolicLink()).toBe(true);
    const test = await npm(['test']);
    expect(test.out).toMatch(/5 passed/);
    expect(test.code).toBe(0);
    // Loom's own check of the package, through the loom of its devDependency
    const check = await npm(['run', 'check']);
    expect(check.out).toContain('code        loaded: 1 notifier type (demo/jsonl), 1 runner type (demo/script)');
    expect(check.out).toContain('ok: Loom loads it as it is');
    expect(check.code).toBe(0);

    await s.json(['init', '--name', 'plugins-cli-e2e']);
    const skills = await s.json(['skills', 'list']);
    expect(skills.skills).toContainEqual(expect.objectContaining({ name: 'demo/hello', source: 'plugin:demo' }));
    const workflow = await s.run(['workflow', 'show', 'demo/hello']);
    expect(workflow.code).toBe(0);
    expect(workflow.stdout).toContain('demo/hello');
    expect(workflow.stdout).toContain('source        plugin:demo');

    // Its runner, once trusted, runs a script of the project on each ready task.
    expect((await s.run(['plugins', 'trust', 'demo'])).code).toBe(0);
    mkdirSync(join(s.dir, 'scripts'));
    writeFileSync(join(s.dir, 'scripts', 'agent.mjs'), 'const [id, title] = process.argv.slice(2);\nprocess.stdout.write(JSON.stringify({ id, title, attempt: process.env.TASK_ATTEMPT }));\n');
    const task = await s.json(['create', 'Greet the team']);
    const ran = await s.run(['orchestrate', '--runner', 'demo/script', '--runner-options', '{"script": "scripts/agent.mjs"}', '--exit-when-idle', '--timeout', '60']);
    expect(ran.stderr).toBe('');
    expect(ran.code).toBe(0);
    expect((await s.json(['status', task.id])).task).toMatchObject({ status: 'done', output: { id: task.id, title: 'Greet the team', attempt: '1' } });
  }, TEST_TIMEOUT_MS);
});
