import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Notifier as NotifierPort } from '../../src/ports/notifier.js';
import { definePlugin, isLoomPlugin, PLUGIN_API_VERSION, type LoomPlugin, type Notifier, type NotifierType, type RunnerType } from '../../src/plugins/api.js';

const notifier = (over: Record<string, unknown> = {}): NotifierType =>
  ({
    type: 'jsonl',
    description: 'Appends events to a file',
    optionsSchema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'], additionalProperties: false },
    create: (_o: unknown, ctx: { name: string }) => ({ name: ctx.name, notify: async () => undefined }),
    ...over,
  }) as NotifierType;

const runner = (over: Record<string, unknown> = {}): RunnerType =>
  ({
    type: 'claude',
    description: 'Runs Claude Code headless on the task',
    optionsSchema: { type: 'object', properties: { model: { type: 'string' } }, additionalProperties: false },
    command: (job: { task: { title: string } }) => ({ argv: ['claude', '-p', job.task.title] }),
    ...over,
  }) as RunnerType;

// The public Notifier and the port are one contract: a plugin's notifier is bound as the port.
const _toPort = (n: Notifier): NotifierPort => n;
const _fromPort = (n: NotifierPort): Notifier => n;
void _toPort;
void _fromPort;

describe('definePlugin', () => {
  it('returns a frozen, branded plugin, recognised by the brand rather than by identity', () => {
    const p = definePlugin({ id: 'example', notifiers: [notifier()] });
    expect(isLoomPlugin(p)).toBe(true);
    expect(p[Symbol.for('loom.plugin') as keyof typeof p]).toBe(true);
    expect(p.apiVersion).toBe(PLUGIN_API_VERSION);
    expect(Object.isFrozen(p)).toBe(true);
    expect(Object.isFrozen(p.notifiers)).toBe(true);
    expect(Object.isFrozen(p.notifiers?.[0])).toBe(true);
    expect(Object.isFrozen(p.notifiers?.[0]?.optionsSchema.properties)).toBe(true);
    expect(() => {
      (p as { id?: string }).id = 'other';
    }).toThrow(TypeError);
    // Another copy of Loom brands with the same registered symbol.
    expect(isLoomPlugin({ [Symbol.for('loom.plugin')]: true })).toBe(true);
    expect(isLoomPlugin({ id: 'example', notifiers: [] })).toBe(false);
    expect(isLoomPlugin(null)).toBe(false);
  });

  it('keeps the author from changing the plugin after the fact', () => {
    const schema = { type: 'object', properties: {} as Record<string, unknown> };
    const list = [notifier({ optionsSchema: schema })];
    const p = definePlugin({ notifiers: list });
    list.push(notifier({ type: 'second' }));
    schema.properties.extra = { type: 'string' };
    expect(p.notifiers).toHaveLength(1);
    expect(p.notifiers?.[0]?.optionsSchema).toEqual({ type: 'object', properties: {} });
  });

  it('takes runner types (API 1.4), frozen like notifier types, their command kept as given', () => {
    const list = [runner()];
    const p = definePlugin({ id: 'example', notifiers: [notifier()], runners: list });
    list.push(runner({ type: 'second' }));
    expect(p.runners).toHaveLength(1);
    expect(Object.isFrozen(p.runners)).toBe(true);
    expect(Object.isFrozen(p.runners?.[0])).toBe(true);
    expect(Object.isFrozen(p.runners?.[0]?.optionsSchema.properties)).toBe(true);
    const job = { task: { id: 'loom-1', title: 'Fix it', priority: 'p1', context: {}, done_when: null, labels: [], parent_id: null, attempt: 1, max_attempts: 3 }, agentId: 'a', projectId: 'p', projectDir: '/x' } as const;
    expect(p.runners?.[0]?.command(job, {})).toEqual({ argv: ['claude', '-p', 'Fix it'] });
    expect(definePlugin({}).runners).toBeUndefined();
  });

  it('accepts a plugin with nothing but declarative content', () => {
    const p = definePlugin({});
    expect(isLoomPlugin(p)).toBe(true);
    expect(p.id).toBeUndefined();
    expect(p.notifiers).toBeUndefined();
  });

  it.each<[string, unknown, RegExp]>([
    ['not an object', null, /the definition must be an object \(got null\)/],
    ['an array', [], /the definition must be an object \(got an array\)/],
    ['an unknown field', { notifier: [] }, /unknown field "notifier"; a plugin may have id, notifiers/],
    ['an id in capitals', { id: 'Example' }, /id must match \[a-z\]\[a-z0-9-\]\* .*\(got "Example"\)/],
    ['an id with a slash', { id: 'my/plugin' }, /id must match/],
    ['an id too long', { id: `a${'b'.repeat(64)}` }, /at most 64 characters/],
    ['notifiers not a list', { notifiers: {} }, /notifiers must be an array/],
    ['a notifier type with a bad name', { notifiers: [notifier({ type: 'Slack' })] }, /notifiers\[0\]\.type must match .*\(got "Slack"\)/],
    ['a namespaced notifier type', { notifiers: [notifier({ type: 'example/jsonl' })] }, /notifiers\[0\]\.type must match/],
    ['two notifier types with one name', { notifiers: [notifier(), notifier()] }, /notifiers\[1\]: two notifier types are named "jsonl"/],
    ['no description', { notifiers: [notifier({ description: '' })] }, /notifiers\[0\] \(jsonl\)\.description must be one non-empty line/],
    ['a two-line description', { notifiers: [notifier({ description: 'a\nb' })] }, /description must be one non-empty line/],
    ['no options schema', { notifiers: [notifier({ optionsSchema: undefined })] }, /optionsSchema must be a JSON Schema object.*\(got undefined\)/],
    ['a boolean options schema', { notifiers: [notifier({ optionsSchema: true })] }, /optionsSchema must be a JSON Schema object/],
    ['no factory', { notifiers: [notifier({ create: 'make' })] }, /notifiers\[0\] \(jsonl\)\.create must be a function .*\(got "make"\)/],
    ['an unknown notifier field', { notifiers: [notifier({ name: 'x' })] }, /notifiers\[0\]: unknown field "name"/],
    ['runners not a list', { runners: {} }, /runners must be an array of runner types/],
    ['a runner type with a bad name', { runners: [runner({ type: 'Claude' })] }, /runners\[0\]\.type must match .*\(got "Claude"\)/],
    ['two runner types with one name', { runners: [runner(), runner()] }, /runners\[1\]: two runner types are named "claude"/],
    ['a runner without a command', { runners: [runner({ command: undefined })] }, /runners\[0\] \(claude\)\.command must be a function \(job, options\) => \{argv, env\?\}/],
    ['a runner with a create (a notifier field)', { runners: [runner({ create: () => null })] }, /runners\[0\]: unknown field "create"; a runner type has type, description, optionsSchema, command/],
    ['a runner with a two-line description', { runners: [runner({ description: 'a\nb' })] }, /runners\[0\] \(claude\)\.description must be one non-empty line/],
  ])('refuses %s with a message naming the field', (_what, def, message) => {
    expect(() => definePlugin(def as LoomPlugin)).toThrow(TypeError);
    expect(() => definePlugin(def as LoomPlugin)).toThrow(message);
  });
});

describe('PLUGIN_API_VERSION', () => {
  it('is the semver 1.5.0 that plugins declare ranges against (1.1, 1.2 and 1.3: new event types, which notifiers may ignore; 1.4: runners; 1.5: the event types exported by name)', () => {
    expect(PLUGIN_API_VERSION).toBe('1.5.0');
    expect(PLUGIN_API_VERSION).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('is published as loom-agents/plugin with its types', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { exports: Record<string, unknown>; files: string[] };
    expect(pkg.exports['./plugin']).toEqual({ types: './dist/src/plugins/api.d.ts', import: './dist/src/plugins/api.js' });
    expect(pkg.files).toContain('dist/src');
  });
});
