import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parseSkillFile } from '../../src/app/skills/skill-file.js';
import { parseWorkflowFile } from '../../src/app/workflows/workflow-file.js';
import { isLoomPlugin, PLUGIN_API_VERSION, type DefinedPlugin, type LoomEvent } from '../../src/plugins/api.js';

/** The example plugin must keep working as Loom changes: its files parse and its entry is a plugin. */
const ROOT = fileURLToPath(new URL('../../examples/loom-plugin-example/', import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  keywords: string[];
  loom: { apiVersion: string; id: string; skills: string; workflows: string; main: string };
  peerDependencies: Record<string, string>;
};
const BUILTIN_SKILLS = readdirSync(fileURLToPath(new URL('../../src/plugins/builtin/skills/', import.meta.url))).map((f) => f.replace(/\.md$/, ''));

const filesIn = (folder: string, ext: RegExp) =>
  readdirSync(join(ROOT, folder))
    .filter((f) => ext.test(f))
    .map((f) => ({ path: join(ROOT, folder, f), text: readFileSync(join(ROOT, folder, f), 'utf8'), source: `plugin:${pkg.loom.id}` }));

describe('examples/loom-plugin-example', () => {
  it('carries the plugin marker: the keyword, a loom field and Loom as a peer', () => {
    expect(pkg.name).toBe('loom-plugin-example');
    expect(pkg.keywords).toContain('loom-plugin');
    // ^1.4.0: it contributes a runner, which came with plugin API 1.4.
    expect(pkg.loom).toEqual({ apiVersion: '^1.4.0', id: 'example', skills: 'skills', workflows: 'workflows', main: 'index.js' });
    expect(PLUGIN_API_VERSION.startsWith('1.')).toBe(true);
    expect(pkg.peerDependencies['loom-agents']).toBe('^0.1.0');
  });

  it('has skills that parse without problems, named under the plugin id', () => {
    const names = filesIn(pkg.loom.skills, /\.md$/).map((file) => {
      const r = parseSkillFile(file, pkg.loom.id);
      if (!r.ok) throw new Error(`${r.problem.file}:${r.problem.line}: ${r.problem.reason}`);
      return r.skill.name;
    });
    expect(names.sort()).toEqual(['example/release_notes', 'example/security_review']);
  });

  it('has a workflow that parses without problems and names only skills that exist', () => {
    const plugin = filesIn(pkg.loom.skills, /\.md$/).map((f) => `${pkg.loom.id}/${f.path.split('/').pop()!.replace(/\.md$/, '')}`);
    const workflows = filesIn(pkg.loom.workflows, /\.ya?ml$/).map((file) => {
      const r = parseWorkflowFile(file, pkg.loom.id);
      if (!r.ok) throw new Error(`${r.problem.file}:${r.problem.line}: ${r.problem.reason}`);
      return r.workflow;
    });
    expect(workflows.map((w) => w.name)).toEqual(['example/release']);
    const skills = workflows.flatMap((w) => w.steps.flatMap((s) => (s.skill === undefined ? [] : [s.skill])));
    expect(skills.length).toBeGreaterThan(0);
    for (const s of skills) expect([...plugin, ...BUILTIN_SKILLS]).toContain(s);
  });

  it("default-exports a branded plugin whose jsonl notifier writes the events it is given", async () => {
    const mod = (await import(join(ROOT, pkg.loom.main))) as { default: DefinedPlugin };
    expect(isLoomPlugin(mod.default)).toBe(true);
    expect(mod.default.id).toBe(pkg.loom.id);
    const jsonl = mod.default.notifiers?.find((n) => n.type === 'jsonl');
    expect(jsonl?.optionsSchema).toMatchObject({ required: ['path'] });

    const dir = mkdtempSync(join(tmpdir(), 'loom-example-plugin-'));
    try {
      const notifier = await jsonl!.create({ path: 'events.jsonl' }, { name: 'audit', projectDir: dir, log: () => undefined });
      expect(notifier.name).toBe('audit');
      const event: LoomEvent = { id: 7, project_id: 'prj-1', type: 'task.done', task_id: 'loom-1', agent_id: 'ada', payload: {}, at: '2026-01-01T00:00:00.000Z' };
      await notifier.notify(event);
      await notifier.close?.();
      expect(readFileSync(join(dir, 'events.jsonl'), 'utf8')).toBe(`${JSON.stringify(event)}\n`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('has a claude runner whose options schema compiles and whose command is claude -p with the task', async () => {
    const mod = (await import(join(ROOT, pkg.loom.main))) as { default: DefinedPlugin };
    const claude = mod.default.runners?.find((r) => r.type === 'claude');
    expect(claude).toBeDefined();
    const validate = new Ajv({ allErrors: true, strict: true }).compile(claude!.optionsSchema);
    expect(validate({ model: 'sonnet', max_turns: 10, allowed_tools: ['Edit'] })).toBe(true);
    expect(validate({ model: 'sonnet; rm -rf /' })).toBe(false);
    expect(validate({ colour: 'red' })).toBe(false);
    const job = { task: { id: 'loom-1a2b3c4d', title: 'Fix it', priority: 'p1', context: {}, done_when: null, labels: [], parent_id: null, attempt: 1, max_attempts: 3 }, agentId: 'a-0', projectId: 'prj-1', projectDir: '/x' } as const;
    const { argv } = claude!.command(job, { model: 'sonnet' });
    expect(argv.slice(0, 2)).toEqual(['claude', '-p']);
    expect(argv[2]).toContain('Loom task loom-1a2b3c4d (attempt 1 of 3): Fix it');
    expect(argv.slice(3)).toEqual(['--output-format', 'json', '--model', 'sonnet']);
  });
});
