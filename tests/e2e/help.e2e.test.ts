/** `loom help` and `loom help COMMAND` work as `--help` does (issue 14, item 12). */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LOOM_BIN, loom } from '../support/loom-cli.js';

describe('loom help (built binary)', () => {
  it('lists every command, or shows one in full', async () => {
    const all = await loom(tmpdir(), ['help']);
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(/loom workflow run/);
    expect(all.stdout).toMatch(/loom decompose/);
    const one = await loom(tmpdir(), ['help', 'workflow', 'run']);
    expect(one.code).toBe(0);
    expect(one.stdout).toMatch(/Run a workflow/);
    expect(one.stdout).toMatch(/Examples/);
    const unknown = await loom(tmpdir(), ['help', 'no-such-command']);
    expect(unknown.code).toBe(2);
  });

  it('names option values instead of showing #0 placeholders, and keeps the option table aligned', async () => {
    const all = await loom(tmpdir(), ['help']);
    expect(all.stdout).not.toMatch(/ #\d/);
    expect(all.stdout).toContain('[--priority PRIORITY]');
    const create = await loom(tmpdir(), ['create', '--help']);
    expect(create.stdout).not.toMatch(/ #\d/);
    const optionLines = create.stdout.split('\n').filter((l) => /^ {2}-/.test(l));
    expect(optionLines.length).toBeGreaterThan(5);
    const descriptionColumn = new Set(optionLines.map((l) => l.search(/(?<= {4})\S(?=[^]*$)/)));
    expect(descriptionColumn.size).toBe(1);
    const usageError = await loom(tmpdir(), ['create', '--priority']);
    expect(usageError.code).toBe(2);
    expect(usageError.stderr).not.toMatch(/ #\d/);
  });

  it('loom completion bash, sourced in bash, completes commands and options through loom itself', async () => {
    const bin = mkdtempSync(join(tmpdir(), 'loom-completion-'));
    try {
      symlinkSync(LOOM_BIN, join(bin, 'loom'));
      const script = [
        'source <(loom completion bash)',
        'COMP_WORDS=(loom plugins ""); COMP_CWORD=2; _loom_complete; echo "${COMPREPLY[*]}"',
        'COMP_WORDS=(loom create --d); COMP_CWORD=2; _loom_complete; echo "${COMPREPLY[*]}"',
      ].join('\n');
      const out = execFileSync('bash', ['-c', script], { env: { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH ?? ''}` }, encoding: 'utf8', timeout: 60_000 });
      expect(out.trim().split('\n')).toEqual(['add check info list new remove trust untrust', '--depends-on --done-when']);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
    const unknown = await loom(tmpdir(), ['completion', 'tcsh']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('bash, zsh, fish');
  });
});
