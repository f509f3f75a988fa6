import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DirectorySkillSource } from '../../src/adapters/skills/directory-skill-source.js';
import { parseSkillFile, type Skill } from '../../src/app/skills/skill-file.js';
import { checkSkillName, SkillRegistry } from '../../src/app/skills/skill-registry.js';
import { renderSkillText, resolveArguments, type SkillVariables } from '../../src/app/skills/skill-render.js';
import type { SkillFile, SkillSource } from '../../src/ports/skill-source.js';

const FIXTURES = fileURLToPath(new URL('../fixtures/skills/', import.meta.url));

const file = (text: string, path = '/p/.loom/skills/s.md'): SkillFile => ({ path, text, source: 'project' });
const skillText = (front: string, body = 'Hello') => `---\n${front}\n---\n${body}\n`;
const base = 'name: s\ndescription: A skill\nversion: 1.0.0';

function parsed(text: string): Skill {
  const r = parseSkillFile(file(text));
  if (!r.ok) throw new Error(`${r.problem.line}: ${r.problem.reason}`);
  return r.skill;
}

const noVars: SkillVariables = { task: null, dependencies: [], epic: null, project: { id: 'p', name: 'P' }, graph: { total: 0, ready: 0, blocked: 0, summary: '' } };

describe('skill front matter', () => {
  it.each([
    ['a minimal skill', base, null],
    ['every field', `${base}\narguments:\n  - { name: feature, description: What, required: true }\n  - { name: audience, required: false, default: devs }\ntags: [planning]\nsuggested_for: [pending, spec]`, null],
    ['no name', 'description: A skill\nversion: 1.0.0', { line: 2, reason: /missing required field "name"/ }],
    ['a name with a slash', 'name: a/b\ndescription: d\nversion: 1.0.0', { line: 2, reason: /name: must match/ }],
    ['a name with ..', 'name: ..\ndescription: d\nversion: 1.0.0', { line: 2, reason: /name: must match/ }],
    ['an upper-case name', 'name: Spec\ndescription: d\nversion: 1.0.0', { line: 2, reason: /name: must match/ }],
    ['a name of 65 characters', `name: ${'a'.repeat(65)}\ndescription: d\nversion: 1.0.0`, { line: 2, reason: /name: must match/ }],
    ['a version that is not semver', 'name: s\ndescription: d\nversion: one', { line: 4, reason: /version: must be a semver/ }],
    ['an unknown field', `${base}\ninputs: {}`, { line: 5, reason: /unknown field "inputs"/ }],
    ['an argument with an unknown field', `${base}\narguments:\n  - { name: a, kind: text }`, { line: 5, reason: /arguments\.0: unknown field "kind"/ }],
    ['a reserved argument name', `${base}\narguments:\n  - { name: task }`, { line: 5, reason: /reserved name/ }],
    ['an argument named __proto__', `${base}\narguments:\n  - { name: __proto__ }`, { line: 5, reason: /arguments\.0\.name: must match/ }],
    ['an argument declared twice', `${base}\narguments:\n  - { name: a }\n  - { name: a }`, { line: 5, reason: /declared twice/ }],
    ['front matter that is a list', '- a\n- b', { line: 2, reason: /must be a YAML mapping/ }],
    ['bad YAML on its line', `${base}\ntags: [a, b\nsuggested_for: [x]`, { line: 6, reason: /not valid YAML/ }],
  ])('%s', (_what, front, expected) => {
    const r = parseSkillFile(file(skillText(front)));
    if (expected === null) {
      expect(r.ok).toBe(true);
      return;
    }
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problem.file).toBe('/p/.loom/skills/s.md');
    expect(r.problem.reason).toMatch(expected.reason);
    expect(r.problem.line).toBe(expected.line);
  });

  it.each([
    ['no front matter', 'Just text', 1, /starts with a line `---`/],
    ['front matter never closed', '---\nname: s\n', 1, /never closed/],
    ['a file over 256 KiB', skillText(base, 'x'.repeat(300 * 1024)), 1, /at most 262144/],
  ])('%s', (_what, text, line, reason) => {
    const r = parseSkillFile(file(text));
    expect(r).toMatchObject({ ok: false, problem: { line, reason: expect.stringMatching(reason) } });
  });
});

describe('skill body', () => {
  it.each([
    ['an unknown variable, with its file line', skillText(base, 'one\ntwo\n{{ nobody.x }}'), 8, /uses "nobody"/],
    ['an unclosed tag, with its file line', skillText(base, 'one\n{% if task %}\nthree'), 7, /does not parse: tag \{% if task %\} not closed/],
    ['an unknown filter', skillText(base, '{{ project.name | constructor }}'), 6, /undefined filter: constructor/],
  ])('%s', (_what, text, line, reason) => {
    const r = parseSkillFile(file(text));
    expect(r).toMatchObject({ ok: false, problem: { line, reason: expect.stringMatching(reason) } });
  });

  it('accepts arguments, reserved variables and loop locals', () => {
    const s = parsed(skillText(`${base}\narguments:\n  - { name: feature }`, '{{ feature }} {% for d in dependencies %}{{ d.output | json }}{% endfor %} {{ epic.title }} {{ graph.summary }}'));
    expect(s.arguments).toEqual([{ name: 'feature', required: false }]);
    expect(s.content_hash).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('rendering', () => {
  const spec = parsed(skillText(`${base}\narguments:\n  - { name: x, required: true }\n  - { name: y, default: why }`, '[{{ x }}] [{{ y }}] [{{ task.title }}]'));

  it.each([
    ['a value holding a template is printed, not rendered again', { x: '{{ y }}' }, '[{{ y }}] [why] []'],
    ['HTML is printed as it is', { x: '<b>&</b>' }, '[<b>&</b>] [why] []'],
    ['a given value wins over the default', { x: '1', y: '2' }, '[1] [2] []'],
  ])('%s', (_what, args, expected) => {
    expect(renderSkillText(spec, resolveArguments(spec, args), noVars).trim()).toBe(expected);
  });

  it.each([
    ['a missing required argument', {}, /needs the argument "x"/],
    ['an unknown argument', { x: '1', z: '2' }, /has no argument "z"/],
  ])('%s is VALIDATION_FAILED naming the argument', (_what, args, message) => {
    expect(() => resolveArguments(spec, args)).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED', message: expect.stringMatching(message) }));
  });

  it('runs no code: prototypes and constructors print nothing', () => {
    const s = parsed(skillText(base, '[{{ task.constructor }}][{{ task.__proto__ }}][{{ project.constructor.name }}][{{ task.toString }}]'));
    const vars = { ...noVars, task: { id: 'loom-00000000', title: 'T', context: {}, done_when: null, priority: 'p1', status: 'pending' as const, attempts: 0, max_attempts: 3, failure_reason: null } };
    expect(renderSkillText(s, {}, vars).trim()).toBe('[][][][]');
  });

  it.each(["{% include '/etc/passwd' %}", "{% render '../../x.md' %}", "{% layout 'a' %}"])('reads no file: %s is refused at load', (body) => {
    const r = parseSkillFile(file(skillText(base, `one\n${body}`)));
    expect(r).toMatchObject({ ok: false, problem: { line: 7, reason: expect.stringMatching(/cannot include other files/) } });
  });

  it('a template that loops too long is refused, not run for ever', () => {
    const s = parsed(skillText(base, '{% for i in (1..100000000) %}{{ i }}{% endfor %}'));
    expect(() => renderSkillText(s, {}, noVars)).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
  });
});

describe('skill names', () => {
  it.each(['write_spec', 'my-plugin/write_spec', 'a'])('%s is a name', (name) => expect(checkSkillName(name)).toBe(name));
  it.each(['../etc/passwd', 'a/../b', 'a\\b', '/abs', 'Write', '', 'a/b/c', 'x'.repeat(65)])('%s is refused', (name) => {
    expect(() => checkSkillName(name)).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
  });
});

describe('sources and precedence', () => {
  const memory = (id: string, precedence: number, files: Array<[string, string]>, namespace?: string): SkillSource => ({
    id,
    precedence,
    ...(namespace === undefined ? {} : { namespace }),
    list: async () => files.map(([path, text]) => ({ path, text, source: id })),
  });
  const skill = (name: string, description: string) => skillText(`name: ${name}\ndescription: ${description}\nversion: 1.0.0`);

  it('later sources win by name, whatever the binding order; plugin skills are namespaced', async () => {
    const registry = new SkillRegistry(() => [
      memory('project', 300, [['/p/a.md', skill('a', 'project a')]]),
      memory('builtin', 0, [['/b/a.md', skill('a', 'builtin a')], ['/b/b.md', skill('b', 'builtin b')]]),
      memory('user', 200, [['/u/b.md', skill('b', 'user b')]]),
      memory('plugin:x', 100, [['/x/a.md', skill('a', 'plugin a')]], 'x'),
    ]);
    const { skills, problems } = await registry.catalog();
    expect(problems).toEqual([]);
    expect(skills.map((s) => [s.name, s.description, s.source])).toEqual([
      ['a', 'project a', 'project'],
      ['b', 'user b', 'user'],
      ['x/a', 'plugin a', 'plugin:x'],
    ]);
  });

  it('a broken file is reported and skipped; the others keep working', async () => {
    const registry = new SkillRegistry(() => [
      new DirectorySkillSource('builtin', join(FIXTURES, 'builtin'), 0),
      new DirectorySkillSource('project', join(FIXTURES, 'project'), 300),
      new DirectorySkillSource('user', join(FIXTURES, 'missing-folder'), 200),
    ]);
    const { skills, problems } = await registry.catalog();
    expect(skills.map((s) => `${s.name}@${s.version}:${s.source}`)).toEqual(['review_output@2.0.0:project', 'write_spec@1.0.0:builtin']);
    expect(problems).toEqual([{ file: join(FIXTURES, 'project', 'broken.md'), line: 7, reason: expect.stringMatching(/uses "nobody"/) }]);
    await expect(registry.get('broken')).rejects.toMatchObject({ code: 'SKILL_NOT_FOUND', hint: expect.stringMatching(/broken\.md:7/) });
    await expect(registry.get('../broken')).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('an edited file is picked up on the next listing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loom-skills-'));
    try {
      const registry = new SkillRegistry(() => [new DirectorySkillSource('project', dir, 300)]);
      writeFileSync(join(dir, 'a.md'), skill('a', 'first'));
      expect((await registry.get('a')).description).toBe('first');
      writeFileSync(join(dir, 'a.md'), skill('a', 'second, longer'));
      utimesSync(join(dir, 'a.md'), new Date(), new Date(Date.now() + 5000));
      expect((await registry.get('a')).description).toBe('second, longer');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
