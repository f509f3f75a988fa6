/** `loom mcp` reaches its daemon early only when the config leaves no doubt that the project is embedded. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { daemonNodeFlags, reachDaemonEarly } from '../../src/app/daemon-launch.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function project(config: string, userConfig?: string): { dir: string; env: NodeJS.ProcessEnv } {
  const dir = mkdtempSync(join(tmpdir(), 'loom-early-daemon-'));
  dirs.push(dir);
  mkdirSync(join(dir, '.loom'));
  writeFileSync(join(dir, '.loom', 'config.yaml'), config);
  const home = join(dir, 'home');
  mkdirSync(home);
  if (userConfig !== undefined) writeFileSync(join(home, 'config.yaml'), userConfig);
  return { dir, env: { LOOM_HOME: home } };
}

const never = '/nonexistent/loom-main.js'; // never spawned in these cases

describe('reachDaemonEarly', () => {
  it('leaves a server-mode project, a database URL anywhere, or no project to the usual open', () => {
    const server = project('project:\n  id: prj-0123456789ab\n  name: s\n  store: server\n  store_id: abc\n');
    expect(reachDaemonEarly({ cwd: server.dir, env: server.env, daemonEntry: never })).toBeNull();

    const embedded = 'project:\n  id: prj-0123456789ab\n  name: e\n  store: embedded\n';
    const viaEnv = project(embedded);
    expect(reachDaemonEarly({ cwd: viaEnv.dir, env: { ...viaEnv.env, LOOM_DATABASE_URL: 'postgres://x@127.0.0.1/x' }, daemonEntry: never })).toBeNull();
    const inProject = project(`${embedded}database_url: postgres://x@127.0.0.1/x\n`);
    expect(reachDaemonEarly({ cwd: inProject.dir, env: inProject.env, daemonEntry: never })).toBeNull();
    const inUser = project(embedded, 'database_url: postgres://x@127.0.0.1/x\n');
    expect(reachDaemonEarly({ cwd: inUser.dir, env: inUser.env, daemonEntry: never })).toBeNull();

    // A config from before `store` was recorded: unsure, so the usual way.
    const unrecorded = project('project:\n  id: prj-0123456789ab\n  name: u\n');
    expect(reachDaemonEarly({ cwd: unrecorded.dir, env: unrecorded.env, daemonEntry: never })).toBeNull();
    // Unreadable YAML: the usual open says what is wrong.
    const broken = project('project: [\n');
    expect(reachDaemonEarly({ cwd: broken.dir, env: broken.env, daemonEntry: never })).toBeNull();
    // No project here, or a --project-dir without one.
    const empty = mkdtempSync(join(tmpdir(), 'loom-early-daemon-none-'));
    dirs.push(empty);
    expect(reachDaemonEarly({ cwd: empty, env: { LOOM_HOME: join(empty, 'home') }, projectDir: '.', daemonEntry: never })).toBeNull();
  });
});

describe('daemonNodeFlags', () => {
  it("sizes V8's background pool one thread under the cores, from 1 to Node's own 4", () => {
    expect(daemonNodeFlags(1)).toEqual(['--v8-pool-size=1']);
    expect(daemonNodeFlags(2)).toEqual(['--v8-pool-size=1']);
    expect(daemonNodeFlags(3)).toEqual(['--v8-pool-size=2']);
    expect(daemonNodeFlags(4)).toEqual(['--v8-pool-size=3']);
    expect(daemonNodeFlags(64)).toEqual(['--v8-pool-size=4']);
    expect(daemonNodeFlags().length).toBe(1);
  });
});
