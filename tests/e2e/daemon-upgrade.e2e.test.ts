/**
 * Loom upgraded (or rebuilt) under a running embedded daemon: once the new code
 * has been in place for a few seconds (an install or a build may still be
 * writing), the next command finds the daemon's code changed on disk, the old
 * daemon stops, and a daemon of the new code serves that command, with the
 * committed work intact. Run on a copy of the built package, so the test can
 * replace its files. And a copy that was never built says so.
 */
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isAlive } from '../runner/proc.js';
import { loom, ROOT } from '../support/loom-cli.js';
import { until } from '../support/until.js';

describe('daemon after an upgrade', () => {
  const base = mkdtempSync(join(tmpdir(), 'loom-upgrade-'));
  const install = join(base, 'loom');
  const dir = join(base, 'project');
  const bin = join(install, 'bin', 'loom.js');
  const env = { LOOM_DAEMON_IDLE_SECONDS: '60' };
  const run = async (args: string[]) => {
    const r = await loom(dir, [...args, '--json'], env, { bin });
    if (r.code !== 0) throw new Error(`loom ${args.join(' ')} exited ${r.code}:\n${r.stdout}${r.stderr}`);
    return JSON.parse(r.stdout);
  };
  afterAll(async () => {
    await loom(dir, ['daemon', 'stop'], env, { bin });
    rmSync(base, { recursive: true, force: true });
  });

  it('the next command stops the daemon of the old code and is served by one of the new', { timeout: 300_000 }, async () => {
    // What an install holds (package.json "files"), with the dependencies of this checkout.
    for (const part of ['package.json', 'bin', 'dist/src', 'migrations', 'src/plugins/builtin']) cpSync(join(ROOT, part), join(install, part), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules'), join(install, 'node_modules'), 'dir');
    mkdirSync(dir);

    await run(['init', '--name', 'upgrade']);
    const task = await run(['create', 'made before the upgrade']);
    const first = await run(['daemon', 'status']);
    expect(first.running).toBe(true);

    // The upgrade: the daemon's own file written anew, as npm or a build writes it.
    const code = join(install, 'dist/src/app/entry/daemon-main.js');
    copyFileSync(code, `${code}.new`);
    renameSync(`${code}.new`, code);

    // Within the first seconds the install may still be writing its other files: the old daemon serves on.
    expect((await run(['list'])).map((t: { id: string }) => t.id)).toEqual([task.id]);
    expect((await run(['daemon', 'status'])).pid).toBe(first.pid);
    await until(() => Date.now() - statSync(code).ctimeMs >= 10_500, 'the new file to settle', 60_000);

    expect((await run(['list'])).map((t: { id: string }) => t.id)).toEqual([task.id]);
    await until(() => !isAlive(first.pid), 'the old daemon to exit', 60_000);
    const second = await run(['daemon', 'status']);
    expect(second.running).toBe(true);
    expect(second.pid).not.toBe(first.pid);
    const log = readFileSync(join(dir, '.loom', 'daemon.log'), 'utf8');
    expect(log).toContain(`[daemon ${first.pid}] Loom's code on disk changed since this daemon started`);
    expect(log).toContain(`[daemon ${first.pid}] stopping (code changed)`);

    // The new daemon's code is what is on disk: it stays.
    await run(['create', 'made after the upgrade']);
    expect((await run(['daemon', 'status'])).pid).toBe(second.pid);
  });
});

describe('a clone that was never built', () => {
  it('says NOT_BUILT and how to build, not a module-resolution stack trace', async () => {
    const install = mkdtempSync(join(tmpdir(), 'loom-unbuilt-'));
    try {
      for (const part of ['package.json', 'bin']) cpSync(join(ROOT, part), join(install, part), { recursive: true });
      const r = await loom(install, ['status'], {}, { bin: join(install, 'bin', 'loom.js') });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`NOT_BUILT: Loom's compiled code is missing (${join(install, 'dist', 'src', 'app', 'entry', 'main.js')})`);
      expect(r.stderr).toContain('hint: run `npm run build` in');
      expect(r.stderr).not.toContain('ERR_MODULE_NOT_FOUND');
    } finally {
      rmSync(install, { recursive: true, force: true });
    }
  });
});
