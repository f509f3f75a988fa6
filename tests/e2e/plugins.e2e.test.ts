/**
 * Plugins end to end with the built binary: a fresh `loom init` project with
 * the good fixture plugin in plugins.paths lists it untrusted (no code runs),
 * serves its skill in `loom skills list` and its workflow in `loom workflow
 * list` (namespaced good/...), shows it in `loom plugins info` and counts it
 * in `loom doctor`; a broken plugin next to it is reported (also in the
 * daemon's log), not fatal.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loom, loomJson } from '../support/loom-cli.js';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'plugins');
const TEST_TIMEOUT_MS = 300_000;

describe('loom plugins (built binary, embedded project)', () => {
  let dir: string;
  let home: string;
  let env: Record<string, string>;
  const run = (args: string[]) => loom(dir, args, env);
  const json = <T = any>(args: string[]) => loomJson<T>(dir, args, env);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'loom-plugins-e2e-'));
    home = mkdtempSync(join(tmpdir(), 'loom-plugins-home-'));
    env = { LOOM_HOME: home, LOOM_DAEMON_IDLE_SECONDS: '60' };
    // The config exists before init (init keeps its keys), so the daemon init starts already knows the plugins.
    mkdirSync(join(dir, '.loom'));
    writeFileSync(join(dir, '.loom', 'config.yaml'), `plugins:\n  paths:\n    - ${JSON.stringify(join(FIXTURES, 'good'))}\n    - ${JSON.stringify(join(FIXTURES, 'api-out-of-range'))}\n`);
    await json(['init', '--name', 'plugins-e2e']);
  }, TEST_TIMEOUT_MS);
  afterAll(async () => {
    await run(['daemon', 'stop']);
    for (const d of [dir, home]) if (d !== undefined) rmSync(d, { recursive: true, force: true });
  }, TEST_TIMEOUT_MS);

  it('plugins list shows the good plugin untrusted with what it contributes, and the out-of-range one with its code', async () => {
    const list = await json(['plugins', 'list', '--json']);
    expect(list.api_version).toBe('1.5.0');
    expect(list.plugins).toEqual([
      expect.objectContaining({ id: 'good', package: 'loom-plugin-good', version: '1.2.0', source: 'path', api_fits: true, trusted: false, active: true, contributes: { skills: 1, workflows: 1, code: false, notifier_types: [], runner_types: [] }, code: 'none', notifiers: [], errors: [] }),
      expect.objectContaining({ id: 'api-out-of-range', api_fits: false, active: false, contributes: { skills: 0, workflows: 0, code: false, notifier_types: [], runner_types: [] }, code: 'none' }),
    ]);
    expect(list.problems.map((p: { code: string }) => p.code)).toEqual(['PLUGIN_API_MISMATCH']);
    const human = await run(['plugins', 'list']);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(/good\s+loom-plugin-good@1\.2\.0\s+path\s+\^1\.0\.0 fits\s+untrusted\s+1 skill, 1 workflow/);
    expect(human.stdout).toContain('error PLUGIN_API_MISMATCH');
    const info = await run(['plugins', 'info', 'good']);
    expect(info.code).toBe(0);
    expect(info.stdout).toContain('contributes  1 skill, 1 workflow');
    const missing = await run(['plugins', 'info', 'nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('PLUGIN_NOT_FOUND');
  }, TEST_TIMEOUT_MS);

  it("serves the plugin's skill and workflow, namespaced", async () => {
    const skills = await json(['skills', 'list', '--json']);
    expect(skills.skills).toContainEqual(expect.objectContaining({ name: 'good/review_pack', source: 'plugin:good' }));
    expect(skills.skills.map((s: { name: string }) => s.name)).not.toContain('api-out-of-range/future_skill');
    const workflows = await json(['workflow', 'list', '--json']);
    expect(workflows.workflows).toContainEqual(expect.objectContaining({ name: 'good/review_flow', source: 'plugin:good' }));
    const dry = await json(['workflow', 'run', 'good/review_flow', '--input', 'change=x', '--dry-run', '--json']);
    expect(dry.stage).toBe('dry_run');
    // The daemon that serves them said once what it found.
    expect(readFileSync(join(dir, '.loom', 'daemon.log'), 'utf8')).toMatch(/plugins: good; 1 problem: PLUGIN_API_MISMATCH loom-plugin-api-out-of-range/);
  }, TEST_TIMEOUT_MS);

  it('doctor has a plugins line naming the problem', async () => {
    const checks = await json<Array<{ name: string; status: string; detail: string }>>(['doctor', '--json']);
    const line = (Array.isArray(checks) ? checks : (checks as any).checks).find((c: { name: string }) => c.name === 'plugins');
    expect(line).toMatchObject({ status: 'warn' });
    expect(line.detail).toContain('2 plugins (1 in use, 0 trusted)');
    expect(line.detail).toContain('PLUGIN_API_MISMATCH');
  }, TEST_TIMEOUT_MS);
});
