/**
 * Skills end to end with the built binary: `loom init` makes the folders,
 * `loom skills new/list/render/stats` work on an embedded project, `loom
 * doctor` names a broken file, and a running `loom mcp` sends
 * prompts/list_changed when a project skill is edited, then lists the edit.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PromptListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loom, loomJson } from '../support/loom-cli.js';
import { McpProcess } from '../support/mcp-process.js';

describe('skills (built binary, embedded project)', () => {
  let dir: string;
  let home: string;
  let env: Record<string, string>;
  const run = (args: string[]) => loom(dir, args, env);
  const json = <T = any>(args: string[]) => loomJson<T>(dir, args, env);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'loom-skills-e2e-'));
    home = mkdtempSync(join(tmpdir(), 'loom-skills-home-'));
    env = { LOOM_HOME: home };
    await json(['init', '--name', 'skills-e2e']);
  });
  afterAll(async () => {
    await run(['daemon', 'stop']);
    rmSync(dir, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  });

  it('init makes .loom/skills and .loom/workflows; skills new writes a valid skeleton once', async () => {
    expect(existsSync(join(dir, '.loom', 'skills'))).toBe(true);
    expect(existsSync(join(dir, '.loom', 'workflows'))).toBe(true);
    const made = await json(['skills', 'new', 'team_check']);
    expect(made.path).toBe(join(dir, '.loom', 'skills', 'team_check.md'));
    const again = await run(['skills', 'new', 'team_check']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('CONFLICT');
    const bad = await run(['skills', 'new', '../escape']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('VALIDATION_FAILED');
    expect(existsSync(join(dir, '.loom', 'escape.md'))).toBe(false);
    const list = await json(['skills', 'list']);
    expect(list.skills.filter((s: { source: string }) => s.source === 'project')).toEqual([expect.objectContaining({ name: 'team_check', source: 'project', version: '1.0.0' })]);
    // The eight builtin skills load too, none broken.
    expect(list.skills.filter((s: { source: string }) => s.source === 'builtin').map((s: { name: string }) => s.name).sort()).toEqual([
      'debug_failure', 'decompose_project', 'define_done', 'estimate_complexity', 'generate_test_plan', 'review_output', 'write_spec', 'write_task_context',
    ]);
    expect(list.problems).toEqual([]);
  });

  it('a broken file is listed with file:line and named by doctor; the others still render and are counted', async () => {
    writeFileSync(join(dir, '.loom', 'skills', 'broken.md'), '---\nname: broken\ndescription: d\nversion: 1.0.0\n---\nok\n{{ missing }}\n');
    const list = await run(['skills', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain(`${join(dir, '.loom', 'skills', 'broken.md')}:7: the template uses "missing"`);
    const doctor = await json(['doctor']);
    expect(doctor.find((c: { name: string }) => c.name === 'skills')).toMatchObject({ status: 'warn', detail: expect.stringContaining('broken.md:7') });

    const task = (await json(['create', 'Check the release', '--done-when', 'the checklist is green'])).id as string;
    const rendered = await json(['skills', 'render', 'team_check', '--task', task, '--arg', 'focus=the changelog']);
    expect(rendered.text).toContain(`task ${task}: Check the release`);
    expect(rendered.text).toContain('Focus on the changelog.');
    expect(rendered.run_id).toEqual(expect.any(Number));
    const missing = await run(['skills', 'render', 'team_check', '--arg', 'colour=red']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('has no argument "colour"');
    expect(await json(['skills', 'stats'])).toEqual([{ skill: 'team_check', version: '1.0.0', uses: 1, done: 0, dead_lettered: 0, escalated: 0, cancelled: 0, open: 1 }]);
  });

  it('loom mcp lists the skills as prompts and sends prompts/list_changed when one is edited', async () => {
    const mcp = await McpProcess.start(dir, [], env);
    try {
      let changed = 0;
      mcp.client.setNotificationHandler(PromptListChangedNotificationSchema, async () => {
        changed++;
      });
      const before = await mcp.client.listPrompts();
      expect(before.prompts.map((p) => p.name)).toContain('team_check');
      const path = join(dir, '.loom', 'skills', 'team_check.md');
      writeFileSync(path, readFileSync(path, 'utf8').replace(/^description: .*$/m, 'description: Edited while loom mcp runs'));
      const deadline = Date.now() + 10_000;
      while (changed === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(changed).toBeGreaterThan(0);
      const after = await mcp.client.listPrompts();
      expect(after.prompts.find((p) => p.name === 'team_check')?.description).toBe('Edited while loom mcp runs');
    } finally {
      await mcp.close();
    }
  });
});
