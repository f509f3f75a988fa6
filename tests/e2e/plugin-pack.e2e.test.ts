/**
 * The example plugin as a user gets it: `npm pack` of examples/loom-plugin-example,
 * `npm i -D` of the tarball into a fresh project (beside loom-agents, linked
 * from this checkout: the peer dependency the plugin imports), no network.
 * `loom plugins list` shows it untrusted with its skills and workflow in use;
 * MCP prompts/list has its namespaced skill; `loom workflow run example/release`
 * creates the run; its JSONL notifier, configured and routed, stays silent
 * until `loom plugins trust example`, and then receives the routed events.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loom, loomJson, ROOT } from '../support/loom-cli.js';
import { McpProcess } from '../support/mcp-process.js';
import { until } from '../support/until.js';

const exec = promisify(execFile);
const TEST_TIMEOUT_MS = 300_000;
const npm = (cwd: string, args: string[]) => exec('npm', [...args, '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'], { cwd, timeout: 180_000, env: { ...process.env, npm_config_update_notifier: 'false' } });

describe('the example plugin, packed and installed from its tarball', () => {
  let dir: string;
  let home: string;
  let packDir: string;
  let env: Record<string, string>;
  const run = (args: string[]) => loom(dir, args, env);
  const json = <T = any>(args: string[]) => loomJson<T>(dir, args, env);
  const eventsFile = () => join(dir, '.loom', 'events.jsonl');
  const loggedTypes = (): string[] =>
    existsSync(eventsFile())
      ? readFileSync(eventsFile(), 'utf8')
          .split('\n')
          .filter((l) => l !== '')
          .map((l) => (JSON.parse(l) as { type: string; task_id: string | null }).type)
      : [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'loom-plugin-pack-'));
    home = mkdtempSync(join(tmpdir(), 'loom-plugin-pack-home-'));
    packDir = mkdtempSync(join(tmpdir(), 'loom-plugin-pack-tgz-'));
    env = { LOOM_HOME: home, LOOM_DAEMON_IDLE_SECONDS: '60' };
    await npm(join(ROOT, 'examples', 'loom-plugin-example'), ['pack', '--pack-destination', packDir]);
    const tarball = readdirSync(packDir).find((f) => f.endsWith('.tgz'));
    expect(tarball).toBeDefined();
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'pack-e2e', private: true, devDependencies: { 'loom-agents': `file:${ROOT}` } }, null, 2));
    await npm(dir, ['install', '--offline']);
    await npm(dir, ['install', '--save-dev', '--offline', join(packDir, tarball!)]);
    expect(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).devDependencies).toHaveProperty('loom-plugin-example');
    await json(['init', '--name', 'pack-e2e']);
    // A notifier of the plugin's type, routed: configured before trust, so it must stay silent until then.
    const config = readFileSync(join(dir, '.loom', 'config.yaml'), 'utf8');
    writeFileSync(
      join(dir, '.loom', 'config.yaml'),
      `${config}notifications:\n  notifiers:\n    - { name: audit, type: example/jsonl, path: .loom/events.jsonl }\n  routes:\n    - { notifier: audit, events: ["task.*"] }\n`,
    );
    await run(['daemon', 'stop']);
  }, TEST_TIMEOUT_MS);

  afterAll(async () => {
    if (dir !== undefined) await run(['daemon', 'stop']);
    for (const d of [dir, home, packDir]) if (d !== undefined) rmSync(d, { recursive: true, force: true });
  }, TEST_TIMEOUT_MS);

  it('plugins list shows it from the project, untrusted, its skills and workflow in use', async () => {
    const list = await json(['plugins', 'list', '--json']);
    expect(list.plugins).toEqual([
      expect.objectContaining({
        id: 'example',
        package: 'loom-plugin-example',
        source: 'project',
        api_fits: true,
        trusted: false,
        active: true,
        code: 'untrusted',
        contributes: { skills: 2, workflows: 1, code: true, notifier_types: [], runner_types: [] },
        notifiers: [expect.objectContaining({ name: 'audit', type: 'example/jsonl', state: 'not_startable' })],
      }),
    ]);
    expect(list.problems).toEqual([expect.objectContaining({ code: 'PLUGIN_UNTRUSTED', severity: 'warning' })]);
    const human = await run(['plugins', 'list']);
    expect(human.stdout).toContain('untrusted: run `loom plugins trust example`');
  }, TEST_TIMEOUT_MS);

  it('MCP prompts/list includes its namespaced skills', async () => {
    const mcp = await McpProcess.start(dir, [], env);
    try {
      const { prompts } = await mcp.client.listPrompts();
      const names = prompts.map((p) => p.name);
      expect(names).toEqual(expect.arrayContaining(['example/release_notes', 'example/security_review']));
    } finally {
      await mcp.client.close();
    }
  }, TEST_TIMEOUT_MS);

  it('loom workflow run example/release creates the run', async () => {
    const started = await json(['workflow', 'run', 'example/release', '--input', 'version=2.3.0']);
    expect(started).toEqual(expect.objectContaining({ stage: 'started', created: true }));
    expect(Object.keys(started.tasks).length).toBeGreaterThan(2);
    const status = await json(['workflow', 'status', String(started.run_id)]);
    expect(status).toEqual(expect.objectContaining({ workflow: 'example/release', status: 'running' }));
  }, TEST_TIMEOUT_MS);

  it('its notifier stays silent while untrusted, and receives the routed events once trusted', async () => {
    const before = await json(['create', 'while untrusted']);
    expect(before.id).toMatch(/^loom-/);
    // Nothing of the plugin runs: the daemon that served the create has started every notifier it will.
    const daemonLog = () => readFileSync(join(dir, '.loom', 'daemon.log'), 'utf8');
    await until(() => /PLUGIN_UNTRUSTED/.test(daemonLog()), 'the daemon reporting the untrusted notifier', 60_000);
    expect(existsSync(eventsFile())).toBe(false);

    const trusted = await run(['plugins', 'trust', 'example']);
    expect(trusted.code).toBe(0);
    const after = await json(['create', 'once trusted']);
    await until(() => existsSync(eventsFile()) && readFileSync(eventsFile(), 'utf8').includes(after.id), 'the trusted notifier writing the new task', 60_000);
    expect(loggedTypes()).toContain('task.created');
    expect(readFileSync(eventsFile(), 'utf8')).not.toContain(before.id); // routed from when it started, not replayed
    const list = await json(['plugins', 'list', '--json']);
    expect(list.plugins[0]).toEqual(
      expect.objectContaining({
        trusted: true,
        code: 'loaded',
        contributes: expect.objectContaining({ notifier_types: [expect.objectContaining({ type: 'example/jsonl' })], runner_types: [expect.objectContaining({ type: 'example/claude' })] }),
        notifiers: [expect.objectContaining({ name: 'audit', state: 'running', failures: 0, hangs: 0 })],
      }),
    );
    expect(list.problems).toEqual([]);
  }, TEST_TIMEOUT_MS);
});
