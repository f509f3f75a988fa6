/**
 * What Loom accepts from a plugin runner type's command(): a program and its
 * arguments as strings, extra environment that leaves Loom's own variables
 * alone; anything else is refused, naming the runner and why.
 */
import { describe, expect, it } from 'vitest';
import type { RunnerJob, RunnerType } from '../../src/plugins/api.js';
import { runnerCommand } from '../../src/plugins/host/runners.js';

const job: RunnerJob = {
  task: { id: 'loom-00000001', title: 'Fix it', priority: 'p1', context: { a: { b: 1 } }, done_when: null, labels: ['x'], parent_id: null, attempt: 2, max_attempts: 3 },
  agentId: 'runner-1',
  projectId: 'prj-000000000001',
  projectDir: '/tmp/p',
};
const type = (command: (j: RunnerJob, o: Record<string, unknown>) => unknown): RunnerType =>
  ({ type: 't', description: 'd', optionsSchema: {}, command }) as RunnerType;
const build = (command: (j: RunnerJob, o: Record<string, unknown>) => unknown, options: Record<string, unknown> = {}) => runnerCommand('x/t', type(command), job, options);

describe('runnerCommand', () => {
  it('passes the job and options as copies, and returns argv and env', () => {
    const seen: RunnerJob[] = [];
    const out = build((j, o) => {
      seen.push(j);
      (j.task.context as Record<string, unknown>).a = 'changed';
      return { argv: ['claude', '-p', j.task.title, String(o.model)], env: { CLAUDE_MODEL: 'opus' } };
    }, { model: 'opus' });
    expect(out).toEqual({ argv: ['claude', '-p', 'Fix it', 'opus'], env: { CLAUDE_MODEL: 'opus' } });
    expect(seen[0]).not.toBe(job);
    expect(job.task.context).toEqual({ a: { b: 1 } }); // Loom's copy untouched
    expect(build(() => ({ argv: ['true'] })).env).toEqual({});
  });

  it.each<[string, () => unknown, RegExp]>([
    ['a throw', () => { throw new Error('no binary'); }, /runner x\/t threw building the command: no binary/],
    ['null', () => null, /it returned null, not \{argv, env\?\}/],
    ['a string', () => 'claude -p hi', /it returned string/],
    ['a promise', () => Promise.resolve({ argv: ['x'] }), /it returned a promise/],
    ['no argv', () => ({}), /argv must be a non-empty array/],
    ['an empty argv', () => ({ argv: [] }), /argv must be a non-empty array/],
    ['a number in argv', () => ({ argv: ['x', 1] }), /argv\[1\] is number, not a string/],
    ['a NUL in argv', () => ({ argv: ['x', 'a\u0000b'] }), /argv\[1\] holds a NUL character/],
    ['an empty program', () => ({ argv: ['', 'x'] }), /argv\[0\], the program, is empty/],
    ['huge arguments', () => ({ argv: ['x', 'y'.repeat(1024 * 1024)] }), /over 1048576; pass large text through a file/],
    ['env not an object', () => ({ argv: ['x'], env: ['A=1'] }), /env must be an object of strings/],
    ['a bad env name', () => ({ argv: ['x'], env: { 'A-B': '1' } }), /env name "A-B" is not/],
    ['a LOOM_ variable', () => ({ argv: ['x'], env: { LOOM_TASK_ID: 'loom-x' } }), /env LOOM_TASK_ID is Loom's to set/],
    ['PATH', () => ({ argv: ['x'], env: { PATH: '/evil' } }), /env PATH is Loom's to set/],
    ['a number value', () => ({ argv: ['x'], env: { A: 1 } }), /env A must be a string without NUL/],
  ])('refuses %s', (_what, command, message) => {
    expect(() => build(command)).toThrow(message);
  });
});
