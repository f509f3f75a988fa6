/**
 * `loom create --from` through the built CLI and the embedded daemon: 2,000
 * tasks of a JSON-lines file in one call (chains of ten, by key), YAML on
 * standard input, and a bad line refused whole, named by its line number.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LOOM_BIN, loom, loomJson, type CliResult } from '../support/loom-cli.js';

/** `loom` with `input` on its standard input, closed after it (`--from -` reads to the end). */
function loomWithInput(cwd: string, args: string[], input: string, env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [LOOM_BIN, ...args], { cwd, env: { ...process.env, LOOM_DATABASE_URL: '', LOOM_PROJECT_DIR: '', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(input);
  });
}

describe('loom create --from', () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-bulk-e2e-'));
  const env = { LOOM_DAEMON_IDLE_SECONDS: '60' };
  afterAll(async () => {
    await loom(dir, ['daemon', 'stop'], env);
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates 2,000 tasks of a JSON-lines file in one call, wired by key', { timeout: 180_000 }, async () => {
    await loomJson(dir, ['init', '--name', 'bulk'], env);
    const lines = Array.from({ length: 2000 }, (_, i) => JSON.stringify({ key: `k${i}`, title: `task ${i}`, ...(i % 10 === 0 ? {} : { depends_on: [`k${i - 1}`] }) }));
    writeFileSync(join(dir, 'tasks.jsonl'), `${lines.join('\n')}\n`);
    const r = await loomJson(dir, ['create', '--from', 'tasks.jsonl'], env);
    expect(r).toMatchObject({ created: 2000, edges: 1800 });
    expect(r.tasks.map((t: { key: string }) => t.key)).toEqual(Array.from({ length: 2000 }, (_, i) => `k${i}`));
    expect(r.tasks.filter((t: { status: string }) => t.status === 'pending')).toHaveLength(200);
    const ready = await loomJson(dir, ['ready', '--limit', '500'], env);
    expect(ready.length ?? ready.tasks?.length).toBe(200);
  });

  it('reads YAML on standard input', { timeout: 120_000 }, async () => {
    const r = await loomWithInput(dir, ['create', '--from', '-', '--json'], '- key: spec\n  title: Write the spec\n- title: Build it\n  depends_on: [spec]\n', env);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ created: 2, edges: 1 });
    expect(out.tasks.map((t: { status: string }) => t.status)).toEqual(['pending', 'blocked']);
  });

  it('refuses the whole file when one line is bad, naming the line; nothing is written', { timeout: 120_000 }, async () => {
    const before = (await loomJson(dir, ['status'], env)).counts;
    writeFileSync(join(dir, 'bad.jsonl'), ['{"key":"a","title":"fine"}', '{"key":"b","title":"waits on nothing known","depends_on":["nope"]}', '{"key":"c","title":"also fine"}'].join('\n'));
    const r = await loom(dir, ['create', '--from', 'bad.jsonl'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/line 2/);
    expect(r.stderr).toMatch(/VALIDATION_FAILED|DEPENDENCY_NOT_FOUND/);
    expect((await loomJson(dir, ['status'], env)).counts).toEqual(before);
    const cycle = await loomWithInput(dir, ['create', '--from', '-'], '{"key":"a","title":"A","depends_on":["b"]}\n{"key":"b","title":"B","depends_on":["a"]}\n', env);
    expect(cycle.code).toBe(1);
    expect(cycle.stderr).toContain('DEPENDENCY_CYCLE');
  });
});
