/**
 * `loom mcp` end to end: the built binary spawned over stdio by the SDK's
 * StdioClientTransport, as Claude Code runs it, with a real SDK Client.
 * Two sessions (two processes) race for the same ready tasks on one embedded
 * project (through its daemon) and on one Postgres database; session B hears
 * what session A did; errors reach the model coded and hinted; the process
 * stops on SIGTERM and on stdin closing; a directory without a project still
 * serves tools/list and explains itself on the first call.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { loom, loomJson } from '../support/loom-cli.js';
import { McpProcess } from '../support/mcp-process.js';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** ms until `child` exits, or a rejection after `limitMs`. */
function exitWithin(child: ChildProcess, limitMs: number): { elapsed: Promise<number> } {
  const t0 = performance.now();
  return {
    elapsed: new Promise((resolve, reject) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve(0);
      const timer = setTimeout(() => reject(new Error(`loom mcp (pid ${child.pid}) still running after ${limitMs} ms`)), limitMs);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve(performance.now() - t0);
      });
    }),
  };
}

/**
 * Both sessions claim (several calls in flight each) until nothing is ready,
 * completing each claim with loom_done and no lease_token. Returns the ids each claimed.
 */
async function claimRace(sessions: McpProcess[], inFlightPerSession = 4): Promise<string[][]> {
  return Promise.all(
    sessions.map(async (s) => {
      const claimed: string[] = [];
      await Promise.all(
        Array.from({ length: inFlightPerSession }, async () => {
          for (;;) {
            const c = await s.ok('loom_claim');
            if (c.claimed !== true) {
              expect(c.reason).toBe('none_ready');
              return;
            }
            claimed.push(c.task.id);
            const d = await s.ok('loom_done', { task_id: c.task.id, output: { by: c.agent_id } });
            expect(d.task.status).toBe('done');
            expect(d.already_done).toBe(false);
          }
        }),
      );
      return claimed;
    }),
  );
}

async function createTasks(s: McpProcess, n: number): Promise<string[]> {
  const ids: string[] = [];
  // Ten creates in flight at a time: fast, and still many separate tool calls.
  for (let i = 0; i < n; i += 10) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(10, n - i) }, (_, j) => s.ok('loom_create', { title: `race task ${i + j}` })),
    );
    ids.push(...batch.map((r) => r.task.id as string));
  }
  return ids;
}

/**
 * A claim whose agent crashed: its lease runs out while no session runs (in embedded mode, the
 * daemon stopped too). The next session's first call already finds the task back in the queue:
 * `loom mcp` recovers expired leases before it serves any tool.
 */
async function crashedClaimIsBackAtFirstCall(dir: string, env: Record<string, string>, stopDaemon: boolean, start: () => Promise<McpProcess>): Promise<void> {
  const task = await loomJson(dir, ['create', 'Left behind by a crashed agent'], env);
  const claim = await loomJson(dir, ['claim', task.id, '--agent', 'crashed', '--lease-seconds', '1'], env);
  expect(claim.claimed).toBe(true);
  if (stopDaemon) await loom(dir, ['daemon', 'stop'], env);
  while (Date.now() <= Date.parse(claim.lease.expires_at) + 100) await new Promise((r) => setTimeout(r, 100));
  const s = await start();
  const status = await s.ok('loom_status', { task_id: task.id });
  expect(status.task).toMatchObject({ id: task.id, status: 'pending', assignee: null, attempts: 1 });
}

function expectFairRace(claimed: string[][], ids: string[]): void {
  const all = claimed.flat();
  expect(all.length).toBe(ids.length); // no task claimed twice
  expect(new Set(all).size).toBe(ids.length);
  expect(new Set(all)).toEqual(new Set(ids));
}

describe('loom mcp over stdio (embedded)', () => {
  let dir: string;
  const env = { LOOM_DAEMON_IDLE_SECONDS: '60' };
  const started: McpProcess[] = [];
  const start = async (args: string[] = [], cwd = dir): Promise<McpProcess> => {
    const p = await McpProcess.start(cwd, args, env);
    started.push(p);
    return p;
  };
  let a: McpProcess;
  let b: McpProcess;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'loom-mcp-e2e-'));
    await loomJson(dir, ['init', '--name', 'mcp-e2e'], env);
    [a, b] = await Promise.all([start(['--agent-id', 'a']), start(['--agent-id', 'b'])]);
  });
  afterAll(async () => {
    await Promise.all(started.map((p) => p.close()));
    await loom(dir, ['daemon', 'stop'], env);
    rmSync(dir, { recursive: true, force: true });
  });

  it('two sessions claim 200 ready tasks concurrently: every task claimed once, completed without passing lease tokens', async () => {
    const ids = await createTasks(a, 200);
    expect((await b.ok('loom_ready', { limit: 1000 })).tasks).toHaveLength(200);

    const claimed = await claimRace([a, b]);
    expectFairRace(claimed, ids);
    // Both sessions got work, under their own agent ids.
    expect(claimed[0]!.length).toBeGreaterThan(0);
    expect(claimed[1]!.length).toBeGreaterThan(0);
    expect((await a.ok('loom_ready')).tasks).toEqual([]);
    expect((await b.ok('loom_status')).counts).toMatchObject({ done: 200 });
    // The daemon recorded who did what.
    const events = await loomJson<any[]>(dir, ['events', '--limit', '10000'], env);
    const doneBy = new Map(events.filter((e) => e.type === 'task.done').map((e) => [e.task_id, e.agent_id]));
    for (const id of claimed[0]!) expect(doneBy.get(id)).toBe('a');
    for (const id of claimed[1]!) expect(doneBy.get(id)).toBe('b');
  });

  it("session B hears session A's task.done and the unblocking, and then sees the dependent in loom_ready", async () => {
    const first = (await a.ok('loom_create', { title: 'Write the parser', priority: 'p0' })).task;
    const second = (await a.ok('loom_create', { title: 'Test the parser', depends_on: [first.id] })).task;
    expect(second.status).toBe('blocked');
    expect((await b.ok('loom_ready')).tasks.map((t: any) => t.id)).toEqual([first.id]);

    const claim = await a.ok('loom_claim', { task_id: first.id });
    expect(claim.claimed).toBe(true);
    const done = await a.ok('loom_done', { task_id: first.id, output: { files: ['parser.ts'] } });
    expect(done.unblocked).toEqual([second.id]);

    const heardDone = await b.waitForEvent((e) => e.type === 'task.done' && e.task_id === first.id);
    expect(heardDone.agent_id).toBe('a');
    expect(typeof heardDone.event_id).toBe('number');
    expect(Number.isNaN(Date.parse(heardDone.at))).toBe(false);
    expect(heardDone.payload).toMatchObject({ has_output: true });
    const heardUnblocked = await b.waitForEvent((e) => e.type === 'task.unblocked' && e.task_id === second.id);
    expect(heardUnblocked.event_id).toBeGreaterThan(heardDone.event_id - 10);

    const ready = (await b.ok('loom_ready')).tasks.map((t: any) => t.id);
    expect(ready).toEqual([second.id]);
    // And B can take it.
    const bClaim = await b.ok('loom_claim');
    expect(bClaim.task.id).toBe(second.id);
    await b.ok('loom_done', { task_id: second.id });
    // A hears B's completion too.
    await a.waitForEvent((e) => e.type === 'task.done' && e.task_id === second.id && e.agent_id === 'b');
  });

  it('loom_done on an unknown id: TASK_NOT_FOUND with a hint, no stack trace', async () => {
    // As a model calls it: no lease_token (the session would supply its own).
    const r = await a.call('loom_done', { task_id: 'loom-0000beef' });
    expect(r.isError).toBe(true);
    expect(r.json).toEqual(r.data.error);
    expect(r.json.code).toBe('TASK_NOT_FOUND');
    expect(r.json.message).toContain('loom-0000beef');
    expect(r.json.hint).toMatch(/loom_ready|loom_status/);
    expect(r.text).not.toMatch(/\n\s*at |\.js:\d+|Error:/);
  });

  it('errors reach a model coded and hinted, never as a stack trace, and the session keeps working', async () => {
    const unknown = await a.call('loom_done', { task_id: 'loom-0000beef', lease_token: 'tok-nope' });
    expect(unknown.isError).toBe(true);
    expect(unknown.json).toEqual(unknown.data.error);
    expect(unknown.json.code).toBe('TASK_NOT_FOUND');
    expect(unknown.json.message).toContain('loom-0000beef');
    expect(unknown.json.hint.length).toBeGreaterThan(10);
    expect(unknown.text).not.toMatch(/\n\s*at |\.js:\d+|Error:/);
    const status = await a.call('loom_status', { task_id: 'loom-0000beef' });
    expect(status.json.code).toBe('TASK_NOT_FOUND');
    const bad = await a.call('loom_claim', { lease_seconds: 'soon' });
    expect(bad.isError).toBe(true);
    expect(bad.json.code).toBe('VALIDATION_FAILED');
    expect(bad.json.hint.length).toBeGreaterThan(10);
    expect(bad.text).not.toMatch(/\n\s*at /);
    expect((await a.ok('loom_ready')).tasks).toEqual([]);
  });

  it('stops within 5 s on SIGTERM', async () => {
    const p = await start(['--agent-id', 'term']);
    await p.ok('loom_ready');
    const pid = p.pid;
    const child = p.child;
    const exit = exitWithin(child, 5_000);
    process.kill(pid, 'SIGTERM');
    const ms = await exit.elapsed;
    expect(ms).toBeLessThan(5_000);
    await p.closed;
    expect(alive(pid)).toBe(false);
    expect(child.exitCode).toBe(0);
  });

  it('stops within 5 s when the client closes its stdin', async () => {
    const p = await start(['--agent-id', 'stdin']);
    await p.ok('loom_ready');
    const child = p.child;
    const pid = p.pid;
    const exit = exitWithin(child, 5_000);
    child.stdin!.end(); // only stdin: no signal (the SDK's close() would SIGTERM after 2 s)
    const ms = await exit.elapsed;
    expect(ms).toBeLessThan(5_000);
    expect(alive(pid)).toBe(false);
    expect(child.exitCode).toBe(0);
    // client.close() (what Claude Code does on exit) closes stdin the same way.
    const q = await start(['--agent-id', 'close']);
    await q.ok('loom_ready');
    const qChild = q.child;
    const qExit = exitWithin(qChild, 5_000);
    await q.close();
    expect(await qExit.elapsed).toBeLessThan(2_000); // before the SDK would fall back to SIGTERM
    expect(qChild.exitCode).toBe(0);
  });

  it('stops cleanly when the client stops reading its stdout without closing stdin', async () => {
    const p = await start(['--agent-id', 'epipe']);
    await p.ok('loom_ready');
    const child = p.child;
    const exit = exitWithin(child, 5_000);
    child.stdout!.destroy(); // the client's reading end is gone; our stdin stays open
    void p.client.listTools().catch(() => undefined); // its answer meets the closed pipe
    expect(await exit.elapsed).toBeLessThan(5_000);
    await p.closed; // stderr fully read
    expect(child.exitCode).toBe(0);
    expect(p.stderr).toContain('stopping (client closed its end of the pipe)');
    expect(p.stderr).not.toMatch(/EPIPE|\n\s*at /);
  });

  it("recovers a crashed agent's expired lease before its first tool call, the daemon stopped meanwhile", async () => {
    const other = mkdtempSync(join(tmpdir(), 'loom-mcp-crash-'));
    try {
      await loomJson(other, ['init', '--name', 'mcp-crash'], env);
      await crashedClaimIsBackAtFirstCall(other, env, true, () => start([], other));
    } finally {
      await loom(other, ['daemon', 'stop'], env);
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('in a directory with no project: still lists its tools, and a call says NO_PROJECT and how to fix it', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'loom-mcp-noproject-'));
    try {
      const p = await start([], empty);
      const { tools } = await p.client.listTools();
      expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['loom_ready', 'loom_claim', 'loom_done']));
      const r = await p.call('loom_ready');
      expect(r.isError).toBe(true);
      expect(r.json.code).toBe('NO_PROJECT');
      expect(r.json.hint).toContain('loom init');
      expect(r.text).not.toMatch(/\n\s*at /);
      await p.close();
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});

describe('loom mcp over stdio (server mode)', () => {
  let db: TestDatabase;
  let dir: string;
  let env: Record<string, string>;
  const started: McpProcess[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('mcp_e2e');
    dir = mkdtempSync(join(tmpdir(), 'loom-mcp-e2e-server-'));
    env = { LOOM_DATABASE_URL: db.url };
    const init = await loomJson(dir, ['init', '--name', 'mcp-e2e-server'], env);
    expect(init.mode).toBe('server');
  });
  afterAll(async () => {
    await Promise.all(started.map((p) => p.close()));
    rmSync(dir, { recursive: true, force: true });
    await db?.drop();
  });

  it('two sessions claim 60 ready tasks concurrently from one Postgres database without a double claim', async () => {
    const [a, b] = await Promise.all([McpProcess.start(dir, ['--agent-id', 'a'], env), McpProcess.start(dir, ['--agent-id', 'b'], env)]);
    started.push(a!, b!);
    const ids = await createTasks(a!, 60);
    expect((await b!.ok('loom_ready', { limit: 100 })).tasks).toHaveLength(60);
    const claimed = await claimRace([a!, b!]);
    expectFairRace(claimed, ids);
    expect((await b!.ok('loom_ready')).tasks).toEqual([]);
    const events = await loomJson<any[]>(dir, ['events', '--limit', '10000'], env);
    expect(events.filter((e) => e.type === 'task.done')).toHaveLength(60);
  });
  it("recovers a crashed agent's expired lease before its first tool call", async () => {
    await crashedClaimIsBackAtFirstCall(dir, env, false, async () => {
      const s = await McpProcess.start(dir, [], env);
      started.push(s);
      return s;
    });
  });
});
