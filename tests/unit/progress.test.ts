import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { startProgress } from '../../src/adapters/cli/progress.js';
import { until } from '../support/until.js';

function stream(tty: boolean): Writable & { isTTY: boolean; text: string } {
  const s = new Writable({
    write(chunk, _enc, done) {
      s.text += chunk.toString();
      done();
    },
  }) as Writable & { isTTY: boolean; text: string };
  s.isTTY = tty;
  s.text = '';
  return s;
}

describe('the progress line', () => {
  it('appears on a terminal after the delay, and is erased before the command prints', async () => {
    const out = stream(true);
    const err = stream(true);
    const p = startProgress(['init', '--name', 'x'], out, err, 20);
    await until(() => err.text.includes('loom init: starting the project'), 'the progress line', 10_000);
    p.stdout.write('created project x\n');
    expect(err.text.endsWith('\r\u001b[2K')).toBe(true);
    const after = err.text;
    p.stop();
    expect(err.text).toBe(after); // erased once; nothing more
    expect(out.text).toBe('created project x\n');
  });

  it('stays away from pipes, --json and streaming commands', async () => {
    for (const [argv, tty] of [[['init'], false], [['ready', '--json'], true], [['watch'], true], [['mcp'], true]] as const) {
      const err = stream(tty);
      const p = startProgress(argv, stream(tty), err, 1);
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setTimeout(r, 30)); // past the 1 ms delay: nothing may have been drawn
      p.stop();
      expect(err.text, argv.join(' ')).toBe('');
    }
  });
});
