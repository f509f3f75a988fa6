import { describe, expect, it } from 'vitest';
import { buildCli } from '../../src/adapters/cli/cli.js';
import { complete, completionCommands, completionScript } from '../../src/adapters/cli/completion.js';

const commands = completionCommands(buildCli('0.0.0', { enableColors: false }).definitions());

describe('shell completion', () => {
  it('offers the command words, then the next word of a multi-word command', () => {
    const top = complete(commands, ['']);
    expect(top).toEqual(expect.arrayContaining(['create', 'claim', 'plugins', 'workflow', 'dep', 'completion']));
    expect(top).not.toContain('__complete'); // not a command for people
    expect(complete(commands, ['cl'])).toEqual(['claim']);
    expect(complete(commands, ['plugins', ''])).toEqual(['add', 'check', 'info', 'list', 'new', 'remove', 'trust', 'untrust']);
    expect(complete(commands, ['dep', 'a'])).toEqual(['add']);
    expect(complete(commands, ['nope', ''])).toEqual([]);
  });

  it('offers the options of the command typed so far for a word starting with -', () => {
    expect(complete(commands, ['create', '--d'])).toEqual(['--depends-on', '--done-when']);
    expect(complete(commands, ['workflow', 'run', 'ship_feature', '--in'])).toEqual(['--input']);
    expect(complete(commands, ['create', 'A title', '--priority', 'p1', '--pa'])).toEqual(['--parent']);
    expect(complete(commands, ['--'])).toEqual(['--help', '--version']);
  });

  it('prints a script per shell that asks loom __complete', () => {
    for (const shell of ['bash', 'zsh', 'fish'] as const) expect(completionScript(shell)).toContain('loom __complete');
  });
});
