/** `loom help` and `loom help COMMAND` work as `--help` does (issue 14, item 12). */
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { loom } from '../support/loom-cli.js';

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
});
