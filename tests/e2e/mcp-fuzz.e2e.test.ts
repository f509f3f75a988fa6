/**
 * A seeded fuzz of the shipped `loom mcp`: three sessions (real MCP clients
 * over stdio) send a few thousand tool calls each storage mode, valid and
 * invalid mixed, with hostile strings and shapes (NUL, lone surrogates,
 * huge and deeply nested values, `__proto__`, wrong types, unknown ids).
 * Every answer must be a result or a coded error {code, message, hint}
 * (never INTERNAL), every server must live to the end, and `loom fsck`
 * must find the stored graph whole afterwards.
 *
 * The seed is random per run and printed in every failure; replay one with
 * LOOM_FUZZ_SEED=<seed> (and LOOM_FUZZ_CALLS to change the number of calls
 * per session).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CallToolResultSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/domain/errors.js';
import { seededRandom } from '../contract/task-store.contract.js';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { loom, loomJson } from '../support/loom-cli.js';
import { McpProcess } from '../support/mcp-process.js';

const SEED = Number(process.env.LOOM_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const CALLS = Number(process.env.LOOM_FUZZ_CALLS ?? 600);
const SESSIONS = 3;

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase('fuzz');
});
afterAll(async () => db?.drop());

type Rand = () => number;

/** What the sessions have seen so far: valid calls use it, invalid ones twist it. */
interface Known {
  tasks: string[];
  epics: string[];
  escalations: string[];
  agents: string[];
}

const pick = <T>(r: Rand, xs: readonly T[]): T | undefined => (xs.length === 0 ? undefined : xs[Math.floor(r() * xs.length)]);
const chance = (r: Rand, p: number) => r() < p;

const UNICODE = ['ship it 🚀', 'naïve café', 'עברית', 'e\u0301', 'zero\u200bwidth', '\ufeffbom', '\ufffe\uffff', '𝔘𝔫𝔦', 'tab\tnew\nline', '\\u0000'];
const HOSTILE_TEXT = ['a\u0000b', 'x\ud800', '\udfff', '\ud83d', 'ok\u0000', ''];

function deep(levels: number): unknown {
  let v: unknown = 'leaf';
  for (let i = 0; i < levels; i++) v = { d: v };
  return v;
}

function text(r: Rand): string {
  if (chance(r, 0.5)) return `fuzz ${Math.floor(r() * 1e6)}`;
  return `${pick(r, UNICODE)} ${Math.floor(r() * 1000)}`;
}

function json(r: Rand): Record<string, unknown> {
  const v: Record<string, unknown> = { n: Math.floor(r() * 100), s: text(r) };
  if (chance(r, 0.3)) v.list = [1, 'two', { three: 3 }, null, true];
  if (chance(r, 0.2)) v.nested = deep(5);
  return v;
}

/** A value nobody should send: the fuzz's hostile vocabulary. */
function hostile(r: Rand): unknown {
  switch (Math.floor(r() * 14)) {
    case 0: return pick(r, HOSTILE_TEXT);
    case 1: return 'x'.repeat(200_000);
    case 2: return deep(100 + Math.floor(r() * 400));
    case 3: return JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"x": 1}}}');
    case 4: return -1;
    case 5: return 1.5;
    case 6: return Number.MAX_SAFE_INTEGER;
    case 7: return [];
    case 8: return [1, 'a', null];
    case 9: return null;
    case 10: return true;
    case 11: return 'loom-00000000';
    case 12: return '../../etc/passwd';
    default: return { [pick(r, HOSTILE_TEXT)!]: 1 };
  }
}

/** Arguments a careful agent would send, built from what was seen. */
function validArgs(tool: string, r: Rand, k: Known): Record<string, unknown> {
  const task = () => pick(r, k.tasks) ?? 'loom-00000000';
  const some = () => k.tasks.filter(() => chance(r, 2 / Math.max(2, k.tasks.length)));
  switch (tool) {
    case 'loom_ready': return chance(r, 0.5) ? {} : { limit: 1 + Math.floor(r() * 50), ...(chance(r, 0.3) ? { priority: pick(r, ['p0', 'p1', 'p2']) } : {}) };
    case 'loom_claim': return chance(r, 0.5) ? {} : { task_id: task(), ...(chance(r, 0.2) ? { lease_seconds: 1 + Math.floor(r() * 600) } : {}) };
    case 'loom_heartbeat': return { task_id: task(), ...(chance(r, 0.5) ? { progress: text(r) } : {}) };
    case 'loom_done': return { task_id: task(), ...(chance(r, 0.6) ? { output: json(r) } : {}) };
    case 'loom_fail': return { task_id: task(), reason: text(r), ...(chance(r, 0.5) ? { retryable: chance(r, 0.5) } : {}) };
    case 'loom_recover': return chance(r, 0.5) ? {} : { execute: pick(r, ['heartbeat', 'release']) };
    case 'loom_create': {
      const epic = chance(r, 0.3) ? pick(r, k.epics) : undefined;
      return {
        title: text(r),
        ...(chance(r, 0.5) ? { depends_on: [...new Set(some())].slice(0, 5) } : {}),
        ...(chance(r, 0.3) ? { priority: pick(r, ['p0', 'p1', 'p2']) } : {}),
        ...(chance(r, 0.4) ? { context: json(r) } : {}),
        ...(chance(r, 0.3) ? { done_when: text(r) } : {}),
        ...(chance(r, 0.1) ? { epic: true } : epic !== undefined ? { parent_id: epic } : {}),
      };
    }
    case 'loom_update': return {
      task_id: task(),
      ...(chance(r, 0.3) ? { title: text(r) } : {}),
      ...(chance(r, 0.4) ? { depends_on: [...new Set(some())].slice(0, 4) } : {}),
      ...(chance(r, 0.2) ? { priority: pick(r, ['p0', 'p1', 'p2']) } : {}),
      ...(chance(r, 0.2) ? { done_when: chance(r, 0.5) ? null : text(r) } : {}),
    };
    case 'loom_status': return chance(r, 0.3) ? {} : { task_id: task() };
    case 'loom_graph': return chance(r, 0.5) ? {} : { format: pick(r, ['summary', 'waves', 'mermaid', 'dot', 'json']) };
    case 'loom_escalate': return { task_id: task(), message: text(r) };
    case 'loom_message': return { to: chance(r, 0.5) ? '*' : (pick(r, k.agents) ?? 'someone'), message: text(r) };
    case 'loom_inbox': return {};
    case 'loom_dlq': return {};
    case 'loom_redrive': return chance(r, 0.8) ? { task_id: task() } : { all: true };
    case 'loom_escalations': return chance(r, 0.5) ? {} : { status: pick(r, ['open', 'resolved', 'all']) };
    case 'loom_resolve': {
      const action = pick(r, ['retry', 'cancel', 'done', 'unblock'])!;
      return { escalation_id: pick(r, k.escalations) ?? 'esc-000000000000', action, ...(action === 'done' && chance(r, 0.5) ? { output: json(r) } : {}), ...(chance(r, 0.3) ? { note: text(r) } : {}) };
    }
    default: return {};
  }
}

/** A valid call twisted one way: a field dropped, added, retyped or made hostile. */
function invalidArgs(tool: string, r: Rand, k: Known): unknown {
  const args = validArgs(tool, r, k);
  const keys = Object.keys(args);
  switch (Math.floor(r() * 6)) {
    case 0: // not an object at all
      return pick(r, [[1], 'x', 42, [args]]);
    case 1: { // a required field dropped
      const key = pick(r, keys);
      if (key !== undefined) delete args[key];
      return args;
    }
    case 2: // an unknown field
      return { ...args, [pick(r, ['colour', '__proto__', 'constructor', 'project_id', 'a\u0000'])!]: hostile(r) };
    default: { // a field made hostile
      const key = pick(r, keys) ?? pick(r, ['title', 'task_id', 'context', 'output', 'message', 'reason', 'depends_on'])!;
      return { ...args, [key]: hostile(r) };
    }
  }
}

const TOOLS = [
  'loom_ready', 'loom_claim', 'loom_heartbeat', 'loom_done', 'loom_fail', 'loom_recover', 'loom_create', 'loom_update', 'loom_status',
  'loom_graph', 'loom_escalate', 'loom_message', 'loom_inbox', 'loom_dlq', 'loom_redrive', 'loom_escalations', 'loom_resolve', 'loom_agents', 'loom_tick',
];
/** Creates come more often: the graph must grow for the other calls to find work. */
const WEIGHTED = [...TOOLS, 'loom_create', 'loom_create', 'loom_create', 'loom_claim', 'loom_claim', 'loom_done', 'loom_ready'];

function learn(k: Known, tool: string, data: Record<string, any>): void {
  const task = data.task as { id?: string; status?: string } | undefined;
  if (typeof task?.id === 'string' && !k.tasks.includes(task.id)) {
    k.tasks.push(task.id);
    if (task.status === 'epic') k.epics.push(task.id);
  }
  for (const t of (data.tasks as Array<{ id?: string }> | undefined) ?? []) if (typeof t?.id === 'string' && !k.tasks.includes(t.id)) k.tasks.push(t.id);
  if (typeof data.escalation?.id === 'string') k.escalations.push(data.escalation.id);
  if (tool === 'loom_escalations') for (const e of (data.escalations as Array<{ id: string }>) ?? []) if (!k.escalations.includes(e.id)) k.escalations.push(e.id);
  if (typeof data.agent_id === 'string' && !k.agents.includes(data.agent_id)) k.agents.push(data.agent_id);
}

const CODES = new Set<string>(ERROR_CODES.filter((c) => c !== 'INTERNAL'));

interface Tally {
  calls: number;
  ok: number;
  errors: Record<string, number>;
  failures: string[];
}

async function fuzzSession(mcp: McpProcess, r: Rand, k: Known, tally: Tally, label: string): Promise<void> {
  for (let i = 0; i < CALLS; i++) {
    const tool = pick(r, WEIGHTED)!;
    const valid = chance(r, 0.6);
    const args = valid ? validArgs(tool, r, k) : invalidArgs(tool, r, k);
    tally.calls++;
    let result;
    try {
      result = await mcp.client.request({ method: 'tools/call', params: { name: tool, arguments: args as never } }, CallToolResultSchema);
    } catch (e) {
      tally.failures.push(`${label} call ${i} ${tool}: a JSON-RPC error instead of a result: ${(e as Error).message}`);
      continue;
    }
    const data = (result.structuredContent ?? {}) as Record<string, any>;
    if (result.isError !== true) {
      tally.ok++;
      learn(k, tool, data);
      continue;
    }
    const error = data.error as { code?: unknown; message?: unknown; hint?: unknown } | undefined;
    const code = String(error?.code);
    tally.errors[code] = (tally.errors[code] ?? 0) + 1;
    const wellShaped = CODES.has(code) && typeof error?.message === 'string' && error.message !== '' && typeof error.hint === 'string' && error.hint !== '';
    if (!wellShaped) tally.failures.push(`${label} call ${i} ${tool} ${JSON.stringify(args)?.slice(0, 300)} -> ${JSON.stringify(error)}`);
  }
}

const modes = [
  { name: 'embedded', env: (): Record<string, string> => ({ LOOM_DAEMON_IDLE_SECONDS: '120' }) },
  { name: 'server', env: (): Record<string, string> => ({ LOOM_DATABASE_URL: db.url }) },
];

describe.each(modes)('MCP fuzz ($name)', (mode) => {
  let dir: string;
  const sessions: McpProcess[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), `loom-fuzz-${mode.name}-`));
    await loomJson(dir, ['init', '--name', `fuzz ${mode.name}`], mode.env());
    writeFileSync(join(dir, '.loom/config.yaml'), `${(await import('node:fs')).readFileSync(join(dir, '.loom/config.yaml'), 'utf8')}mcp:\n  tools: [core, admin]\n`);
    for (let i = 0; i < SESSIONS; i++) sessions.push(await McpProcess.start(dir, ['--agent-id', `fuzzer-${i}`], mode.env()));
  }, 120_000);
  afterAll(async () => {
    await Promise.all(sessions.map((s) => s.close()));
    if (mode.name === 'embedded') await loom(dir, ['daemon', 'stop'], mode.env());
    rmSync(dir, { recursive: true, force: true });
  });

  it(`answers every call with a result or a coded error, and leaves the graph whole (seed ${SEED})`, async () => {
    const seed = SEED + (mode.name === 'server' ? 1 : 0);
    const known: Known = { tasks: [], epics: [], escalations: [], agents: sessions.map((_, i) => `fuzzer-${i}`) };
    const tally: Tally = { calls: 0, ok: 0, errors: {}, failures: [] };
    await Promise.all(sessions.map((s, i) => fuzzSession(s, seededRandom(seed * 31 + i), known, tally, `session ${i}`)));
    const summary = `seed ${SEED} (${mode.name}): ${tally.calls} calls, ${tally.ok} ok, errors ${JSON.stringify(tally.errors)}`;
    console.log(summary);
    expect(tally.failures.slice(0, 20), summary).toEqual([]);
    expect(tally.ok, summary).toBeGreaterThan(CALLS * SESSIONS * 0.2);
    // Every server lived through it, and none logged an internal error.
    for (const s of sessions) {
      expect((await s.call('loom_status')).isError, summary).toBe(false);
      expect(s.stderr, summary).not.toMatch(/internal error/i);
    }
    const fsck = await loom(dir, ['fsck', '--json'], mode.env());
    expect(fsck.code, `${summary}\n${fsck.stdout}${fsck.stderr}`).toBe(0);
    expect(JSON.parse(fsck.stdout).ok, summary).toBe(true);
  }, 600_000);
});
