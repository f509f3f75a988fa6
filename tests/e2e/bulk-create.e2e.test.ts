/**
 * `loom create --from` with the built `loom` on a fresh embedded project:
 * the file goes through the daemon in one call (createTasks), a YAML file
 * from stdin too, and a bad file writes nothing.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loom, loomJson, LOOM_BIN } from '../support/loom-cli.js';

const TIMEOUT_MS = 300_000;

describe('loom create --from end to end (embedded)', { timeout: TIMEOUT_MS }, () => {
  let dir: string;
  const env = { LOOM_DAEMON_IDLE_SECONDS: '60', USER: 'alice', LOOM_AGENT_ID: '' };
  const json = <T = any>(args: string[]) => loomJson<T>(dir, args, env);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'loom-e2e-bulk-'));
    await json(['init', '--name', 'bulk']);
  });
  afterAll(async () => {
    await loom(dir, ['daemon', 'stop'], env);
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates a file of 2,000 wired tasks in one call, and refuses a cycle writing nothing', async () => {
    const lines = [JSON.stringify({ key: 'epic', title: 'Import', epic: true })];
    for (let i = 0; i < 2_000; i++) lines.push(JSON.stringify({ key: `t${i}`, title: `task ${i}`, parent_id: 'epic', ...(i === 0 ? {} : { depends_on: [`t${i - 1}`] }) }));
    writeFileSync(join(dir, 'tasks.jsonl'), `${lines.join('\n')}\n`);
    const r = await json(['create', '--from', 'tasks.jsonl']);
    expect(r).toMatchObject({ created: 2_001, edges: 1_999 });
    expect(r.tasks.slice(0, 3).map((t: { key: string; status: string }) => `${t.key}:${t.status}`)).toEqual(['epic:epic', 't0:pending', 't1:blocked']);
    const ready = await json<any[]>(['ready']);
    expect(ready.map((t) => t.id)).toEqual([r.tasks[1].id]);

    writeFileSync(join(dir, 'cycle.jsonl'), '{"key":"a","title":"A","depends_on":["b"]}\n{"key":"b","title":"B","depends_on":["a"]}\n');
    const cycle = await loom(dir, ['create', '--from', 'cycle.jsonl'], env);
    expect(cycle.code).toBe(1);
    expect(cycle.stderr).toMatch(/^DEPENDENCY_CYCLE: the batch has a dependency cycle: a -> b -> a/);

    // YAML on stdin
    const out = execFileSync(process.execPath, [LOOM_BIN, 'create', '--from', '-', '-q'], {
      cwd: dir,
      env: { ...process.env, LOOM_DATABASE_URL: '', LOOM_PROJECT_DIR: '', ...env },
      input: `- key: docs\n  title: Document the import\n  depends_on: [${r.tasks[2_000].id}]\n`,
    }).toString();
    expect(out.trim()).toMatch(/^loom-[0-9a-f]{8}$/);
    expect((await json<any[]>(['list', '--limit', '1000', '--status', 'blocked'])).length).toBe(1000);
  });
});
