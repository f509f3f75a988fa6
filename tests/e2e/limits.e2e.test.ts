/**
 * Size limits as a user meets them, through the built CLI and a real MCP
 * client over stdio, on the embedded default (through its daemon) and in
 * server mode: a body over its limit is refused with the limit named, and
 * list reads stay small however large the stored bodies are.
 */
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { loom, loomJson } from '../support/loom-cli.js';
import { McpProcess } from '../support/mcp-process.js';

const MiB = 1024 * 1024;
let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('limits');
});
afterAll(async () => db?.drop());

const modes = [
  { name: 'embedded', env: (): Record<string, string> => ({ LOOM_DAEMON_IDLE_SECONDS: '60' }) },
  { name: 'server', env: (): Record<string, string> => ({ LOOM_DATABASE_URL: db.url }) },
];

describe.each(modes)('size limits ($name)', (mode) => {
  let dir: string;
  const run = (args: string[]) => loom(dir, args, mode.env());
  const json = <T = any>(args: string[]) => loomJson<T>(dir, args, mode.env());

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), `loom-limits-${mode.name}-`));
    await json(['init', '--name', 'limits']);
  }, 120_000);
  afterAll(async () => {
    if (mode.name === 'embedded') await run(['daemon', 'stop']);
    rmSync(dir, { recursive: true, force: true });
  });

  it('the CLI refuses a context and an output over the default 64 KiB with the limit and a hint, writing nothing', async () => {
    const big = JSON.stringify({ log: 'x'.repeat(70 * 1024) });
    const created = await run(['create', 'too big', '--context', big]);
    expect(created.code).toBe(1);
    expect(created.stderr).toMatch(/^VALIDATION_FAILED: invalid createTask input: context is \d+ bytes of JSON; at most 65536 are allowed/m);
    expect(created.stderr).toContain('tasks.max_context_bytes');
    expect((await json(['status'])).total).toBe(0);

    const id = (await run(['create', 'small', '-q'])).stdout.trim();
    const claim = await json(['claim', id, '--agent', 'alice']);
    const done = await run(['done', id, '--agent', 'alice', '--token', claim.lease.token, '--output', big]);
    expect(done.code).toBe(1);
    expect(done.stderr).toMatch(/output is \d+ bytes of JSON; at most 65536/);
    expect((await json(['status', id])).task.status).toBe('claimed');
  }, 120_000);

  it('a NUL or a lone surrogate anywhere is VALIDATION_FAILED naming it, never INTERNAL', async () => {
    const r = await run(['create', 'x', '--context', '{"a":{"b":"x\\u0000y"}}']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('VALIDATION_FAILED: invalid createTask input: context.a.b: contains a NUL character');
    const s = await run(['create', 'x', '--context', '{"\\ud800":1}']);
    expect(s.stderr).toContain('contains a lone surrogate');
    expect(`${r.stderr}${s.stderr}`).not.toContain('INTERNAL');
  }, 120_000);

  it('with the limit raised to 1 MiB, nine 1 MiB contexts stay out of ready; status gives one whole', async () => {
    appendFileSync(join(dir, '.loom/config.yaml'), `tasks:\n  max_context_bytes: ${MiB}\n`);
    if (mode.name === 'embedded') await run(['daemon', 'stop']); // the daemon reads the config when it starts
    const mcp = await McpProcess.start(dir, [], mode.env());
    try {
      const ids: string[] = [];
      for (let i = 0; i < 9; i++) {
        const context = { spec: String(i).repeat(MiB - 64) };
        ids.push((await mcp.ok('loom_create', { title: `large ${i}`, context })).task.id);
      }
      const over = await mcp.call('loom_create', { title: 'over', context: { spec: 'x'.repeat(MiB) } });
      expect(over.data.error).toMatchObject({ code: 'VALIDATION_FAILED' });
      expect(over.data.error.message).toContain(`at most ${MiB}`);

      const ready = await run(['ready', '--json', '--limit', '1000']);
      expect(ready.code).toBe(0);
      expect(ready.stdout.length).toBeLessThan(64 * 1024);
      const tasks = JSON.parse(ready.stdout) as Array<{ id: string; context: Record<string, unknown> }>;
      expect(tasks.filter((t) => ids.includes(t.id)).map((t) => t.context.truncated)).toEqual(ids.map(() => true));
      // MCP lists summaries: a short preview of each context and its real size.
      const viaMcp = (await mcp.ok('loom_ready', { limit: 1000 })).tasks as Array<{ id: string; context_preview: string; context_chars: number }>;
      expect(viaMcp.every((t) => t.context_preview.length <= 160)).toBe(true);
      expect(viaMcp.filter((t) => ids.includes(t.id)).every((t) => t.context_chars > MiB - 64)).toBe(true);

      const one = await json(['status', ids[3]!]);
      expect((one.task.context.spec as string).length).toBe(MiB - 64);
    } finally {
      await mcp.close();
    }
  }, 180_000);
});
