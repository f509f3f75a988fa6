/** Placeholders are quoted for where they stand in the template: a title never runs as shell code. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CommandRunner } from '../../src/adapters/runner/command-runner.js';
import { expandTemplate } from '../../src/adapters/runner/template.js';

const dir = mkdtempSync(join(tmpdir(), 'loom-template-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const title = `it's "q" $(touch P1) \`touch P2\` ; touch P3 \\ \\" $HOME {title} 'x' & touch P4`;
const values = { task_id: 'loom-0a1b2c3d', title, lease_token: 'tok', project_id: 'proj', project_dir: dir, agent_id: 'runner-0' };
const run = (template: string): string => execFileSync('/bin/sh', ['-c', expandTemplate(template, values)], { cwd: dir, encoding: 'utf8' });

describe('expandTemplate', () => {
  it.each([
    ['bare', `printf '%s\\n' {title}`, `${title}\n`],
    ['inside double quotes', `printf '%s\\n' "Task {task_id}: {title}!"`, `Task loom-0a1b2c3d: ${title}!\n`],
    ['in $( ) inside double quotes', `printf '%s\\n' "<$(printf '%s' {title})>"`, `<${title}>\n`],
    ['in a subshell', `(printf '%s\\n' {title})`, `${title}\n`],
    ['after an escaped quote', `printf '%s\\n' \\" {title}`, `"\n${title}\n`],
    ['twice, next to text', `printf '%s|' x{task_id}y "{agent_id}"{title}`, `xloom-0a1b2c3dy|runner-0${title}|`],
  ])('%s: the value arrives exactly and nothing in it runs', (_, template, expected) => {
    expect(run(template)).toBe(expected);
    expect(readdirSync(dir)).toEqual([]);
  });

  it.each([
    ['inside single quotes', `sh -c 'echo {title}'`],
    ['inside backticks', 'echo `echo {title}`'],
    ['inside double quotes inside backticks', 'echo `echo "{title}"`'],
  ])('refuses a placeholder %s, as the runner is built', (_, template) => {
    expect(() => new CommandRunner({ template })).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
  });

  it('leaves unknown braces and escaped placeholders alone', () => {
    expect(expandTemplate('echo {nope} \\{title} ${HOME}', values)).toBe('echo {nope} \\{title} ${HOME}');
  });
});
