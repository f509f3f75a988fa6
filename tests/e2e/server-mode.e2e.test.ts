/**
 * Server mode across processes: three `loom mcp` processes on one Postgres
 * and one Redis. The session of process A hears every change made through
 * processes B and C as notifications/loom/task_event: in relay order, none
 * missing, none twice. Then a CLI process (a subagent without MCP) reads
 * ready work (the cache first) and sees what Postgres sees.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { loom, loomJson } from '../support/loom-cli.js';
import { McpProcess } from '../support/mcp-process.js';
import { deleteKeys, testRedisUrl, uniquePrefix } from '../support/redis.js';

const prefix = uniquePrefix('server-mode');
let db: TestDatabase;
let dir: string;
let env: Record<string, string>;
let projectId: string;
const sessions: McpProcess[] = [];

beforeAll(async () => {
  db = await createTestDatabase('server-mode');
  dir = mkdtempSync(join(tmpdir(), 'loom-server-mode-'));
  env = { LOOM_DATABASE_URL: db.url, LOOM_REDIS_URL: await testRedisUrl(), LOOM_REDIS_PREFIX: prefix };
  projectId = (await loomJson(dir, ['init', '--name', 'server-mode'], env)).project.id;
});

afterAll(async () => {
  await Promise.all(sessions.map((s) => s.close()));
  await db?.drop();
  await deleteKeys(prefix);
  rmSync(dir, { recursive: true, force: true });
});

/** The project's event ids after `afterId` in relay order, as Postgres holds them. */
async function relayOrder(afterId: number): Promise<number[]> {
  const pool = new pg.Pool({ connectionString: db.url, max: 1 });
  try {
    const r = await pool.query('SELECT id FROM events WHERE project_id = $1 AND (tx_id, id) > (SELECT tx_id, id FROM events WHERE id = $2) ORDER BY tx_id, id', [
      projectId,
      afterId,
    ]);
    return r.rows.map((row) => Number(row.id));
  } finally {
    await pool.end();
  }
}

describe('server mode with Redis', () => {
  it("an MCP session in one process hears the changes of two others, in order, each once", async () => {
    const [a, b, c] = await Promise.all(['agent-a', 'agent-b', 'agent-c'].map((agent) => McpProcess.start(dir, ['--agent-id', agent], env)));
    sessions.push(a!, b!, c!);

    // A hears B: from here on, A's subscription is live.
    const warm = await b!.ok('loom_create', { title: 'warm-up' });
    const warmEvent = await a!.waitForEvent((e) => e.task_id === warm.task.id && e.type === 'task.created');

    // B and C work at once: B files a chain, C files work behind it and both claim and finish what is ready.
    const work = async (s: McpProcess, name: string, n: number): Promise<void> => {
      let previous: string | undefined;
      for (let i = 0; i < n; i++) {
        const t = await s.ok('loom_create', { title: `${name}-${i}`, ...(previous !== undefined && i % 3 === 0 ? { depends_on: [previous] } : {}) });
        previous = t.task.id;
        if (i % 2 === 0) {
          const claim = await s.ok('loom_claim', {});
          if (claim.claimed === true) await s.ok('loom_done', { task_id: claim.task.id, output: { by: name } });
        }
      }
    };
    await Promise.all([work(b!, 'b', 24), work(c!, 'c', 24)]);

    const expected = await relayOrder(warmEvent.event_id);
    expect(expected.length).toBeGreaterThanOrEqual(48 + 2 * 12); // 48 created, and a claim+done for most even steps
    const last = expected.at(-1)!;
    await a!.waitForEvent((e) => e.event_id === last);
    await new Promise((r) => setTimeout(r, 200)); // a duplicate, were there one, would arrive by now
    const heard = a!.events.map((e) => e.event_id);
    expect(heard.slice(heard.indexOf(warmEvent.event_id) + 1)).toEqual(expected);
    // B and C heard each other too, through the same relay.
    await c!.waitForEvent((e) => e.event_id === last);
  });

  it('doctor sees Redis and a relay that keeps up', async () => {
    const r = await loom(dir, ['doctor', '--json'], env);
    const checks = JSON.parse(r.stdout) as Array<{ name: string; status: string; detail: string }>;
    const by = Object.fromEntries(checks.map((c) => [c.name, c]));
    expect(by.redis?.status).toBe('ok');
    expect(by.relay?.status).toBe('ok');
    expect(by.relay?.detail).toMatch(/^0 event\(s\) waiting/);

    // Redis remembers publishing past the database's cursor (as after restoring the database from a
    // backup): new events would be dropped, and doctor says so, with the key to delete.
    const redis = new Redis(await testRedisUrl());
    try {
      const [key] = await redis.keys(`${prefix}relay:position:*`);
      expect(key).toBeDefined();
      const kept = (await redis.get(key!))!;
      await redis.set(key!, `${'9'.repeat(20)}:${'9'.repeat(20)}`);
      const restored = await loom(dir, ['doctor', '--json'], env);
      expect(restored.code).toBe(1);
      const relay = (JSON.parse(restored.stdout) as Array<{ name: string; status: string; fix?: string }>).find((c) => c.name === 'relay');
      expect(relay?.status).toBe('fail');
      expect(relay?.fix).toContain(`redis-cli DEL '${key}'`);
      await redis.set(key!, kept);
    } finally {
      await redis.quit();
    }
  });

  it('a CLI process reads ready work as Postgres has it', async () => {
    const ready = await loomJson(dir, ['ready', '--limit', '50'], env);
    const pool = new pg.Pool({ connectionString: db.url, max: 1 });
    try {
      const r = await pool.query(
        `SELECT id FROM tasks WHERE project_id = $1 AND status = 'pending' AND held_at IS NULL AND unmet_deps = 0 AND (run_after IS NULL OR run_after <= now())
          ORDER BY priority, weight DESC, created_at, id LIMIT 50`,
        [projectId],
      );
      expect((ready as Array<{ id: string }>).map((t) => t.id)).toEqual(r.rows.map((row) => row.id));
    } finally {
      await pool.end();
    }
  });
});
