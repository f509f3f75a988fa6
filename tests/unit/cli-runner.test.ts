import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { toDot } from '../../src/domain/graph-dot.js';
import { buildPicture } from '../../src/domain/graph-picture.js';
import { Command, UsageError } from 'clipanion';
import { taskFixture } from '../support/task-fixture.js';
import { describe, expect, it } from 'vitest';
import { buildCli, COMMANDS, runCli } from '../../src/adapters/cli/cli.js';
import { COMMAND_LOADERS, loadCli } from '../../src/adapters/cli/command-loaders.js';
import { LoomCommand } from '../../src/adapters/cli/base-command.js';
import type { LoomCliContext } from '../../src/adapters/cli/context.js';
import { LoomError, taskNotFound } from '../../src/domain/errors.js';
import type { Escalation } from '../../src/domain/escalation.js';
import type { Task } from '../../src/domain/task.js';
import { NO_USAGE } from '../../src/domain/usage.js';
import type { FsckReport, LoomApi, ProjectMetrics } from '../../src/ports/loom-api.js';
import { VizGraphPictures } from '../../src/adapters/graphviz/viz-graph-pictures.js';
import type { LoomConnector } from '../../src/ports/loom-connector.js';

/*
 * Argument mapping and exit codes of the CLI adapter, against a hand-written
 * LoomApi stub that records its calls. The real API is tested elsewhere.
 */

const NOW = Date.now();
const iso = (offsetMs: number): string => new Date(NOW + offsetMs).toISOString();

function task(overrides: Partial<Task> = {}): Task {
  return taskFixture({
    title: 'Write the parser',
    origin: { kind: 'cli', id: 'alice' },
    created_at: iso(-120_000),
    updated_at: iso(-60_000),
    ...overrides,
  });
}

interface Call {
  method: string;
  input: unknown;
}

type ApiMethods = Omit<LoomApi, 'close'>;

/** A LoomApi whose methods record their input and answer with canned results (overridable per test). */
function stubApi(calls: Call[], overrides: Partial<ApiMethods>): LoomApi {
  const defaults: ApiMethods = {
    createProject: async () => ({ id: 'proj-1', name: 'demo', created_at: iso(0) }),
    getProject: async () => ({ id: 'proj-1', name: 'demo', created_at: iso(0) }),
    projects: async () => [],
    removeProject: async () => ({ project: { id: 'proj-1', name: 'demo', created_at: iso(0), removed_at: iso(1000) }, cancelled: ['loom-0000000a'], escalations_resolved: [] }),
    createTask: async (input) => task({ title: input.title, origin: input.origin }),
    createTasks: async (input) => ({
      tasks: input.tasks.map((t, i) => ({ id: `loom-${(0xb0 + i).toString(16).padStart(8, '0')}`, ...(t.key === undefined ? {} : { key: t.key }), status: 'pending' as const })),
      created: input.tasks.length,
      edges: input.tasks.reduce((n, t) => n + (t.depends_on?.length ?? 0), 0),
    }),
    updateTask: async () => task(),
    ready: async () => [],
    listTasks: async () => [],
    claim: async () => ({ claimed: false, reason: 'none_ready' }),
    heartbeat: async () => ({ task: task({ status: 'claimed' }), lease: { token: 'tok-1', expires_at: iso(300_000) } }),
    done: async () => ({ task: task({ status: 'done' }), unblocked: [], completed_epics: [], already_done: false }),
    fail: async () => ({ task: task({ attempts: 1 }), outcome: 'retrying', run_after: iso(30_000) }),
    claimBatch: async () => ({ claims: [] }),
    doneBatch: async (input) => ({ results: input.items.map((i) => ({ task_id: i.task_id, ok: true as const, result: { task: task({ id: i.task_id, status: 'done' }), unblocked: [], completed_epics: [], already_done: false } })) }),
    failBatch: async (input) => ({ results: input.items.map((i) => ({ task_id: i.task_id, ok: true as const, result: { task: task({ id: i.task_id, attempts: 1 }), outcome: 'retrying' as const, run_after: iso(30_000) } })) }),
    costs: async () => ({ by: 'task', since: null, total: { ...NO_USAGE }, groups: [] }),
    setBudget: async () => ({ budget: null, resumed: [], held: [] }),
    budgets: async () => ({ budgets: [] }),
    escalate: async () => {
      throw new Error('not stubbed');
    },
    cancel: async () => ({ task: task({ status: 'cancelled' }), cancelled: ['loom-0000000a'] }),
    hold: async () => ({ task: task({ held_at: iso(0), hold_reason: 'review' }), held: ['loom-0000000a'] }),
    resume: async () => ({ task: task(), resumed: [{ id: 'loom-0000000a', status: 'pending' }] }),
    status: async () => {
      throw new Error('not stubbed');
    },
    overview: async () => {
      throw new Error('not stubbed');
    },
    graph: async () => ({ format: 'summary', graph: { nodes: [], edges: [], waves: [], stuck: [] }, text: '0 tasks' }),
    events: async () => [],
    release: async () => task(),
    recoverLeases: async () => ({ requeued: [], dead_lettered: [], escalated: [] }),
    reconcile: async () => ({ requeued: [], dead_lettered: [], escalated: [], stuck: [], epics_completed: [], dependents_blocked: [], dependents_cancelled: [] }),
    deadLetters: async () => [],
    redrive: async () => ({ redriven: [] }),
    escalations: async () => [],
    resolveEscalation: async () => {
      throw new Error('not stubbed');
    },
    agents: async () => [],
    agentTasks: async () => [],
    skills: async () => ({ skills: [], problems: [] }),
    skill: async () => {
      throw new Error('not stubbed');
    },
    renderSkill: async () => {
      throw new Error('not stubbed');
    },
    decompose: async () => {
      throw new Error('not stubbed');
    },
    workflows: async () => ({ workflows: [], problems: [] }),
    workflow: async () => {
      throw new Error('not stubbed');
    },
    runWorkflow: async () => {
      throw new Error('not stubbed');
    },
    workflowRuns: async () => [],
    workflowRun: async () => {
      throw new Error('not stubbed');
    },
    skillStats: async () => [],
    metrics: async () => {
      throw new Error('not stubbed');
    },
    sendMessage: async () => {
      throw new Error('not stubbed');
    },
    inbox: async () => [],
    exportProject: async (i) => ({ project_id: i.project_id, path: i.path, bytes: 10, sha256: 'ab', schema: 11, events: i.events === true, counts: { task: 0, dep: 0, escalation: 0, agent: 0, message: 0, skill_run: 0, decomposition: 0, workflow_run: 0, usage_report: 0, usage_total: 0, budget: 0, event: 0 } }),
    importProject: async (i) => ({ project_id: 'proj-1', project_name: 'p', path: i.path, schema: 11, events: false, counts: { task: 0, dep: 0, escalation: 0, agent: 0, message: 0, skill_run: 0, decomposition: 0, workflow_run: 0, usage_report: 0, usage_total: 0, budget: 0, event: 0 }, events_written: 1 }),
    fsck: async () => ({ ok: true, project_id: 'proj-1', checked: { tasks: 0, edges: 0, events: 1 }, violations: [], due: [], totals: { violations: 0, due: 0 } }),
  };
  const methods = { ...defaults, ...overrides } as Record<string, (input: unknown) => Promise<unknown>>;
  const api: Record<string, unknown> = {
    close: async () => {
      calls.push({ method: 'close', input: undefined });
    },
  };
  for (const [name, fn] of Object.entries(methods)) {
    api[name] = async (input: unknown) => {
      calls.push({ method: name, input });
      return fn(input);
    };
  }
  return api as unknown as LoomApi;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  calls: Call[];
  /** Calls to the API proper, without open/close. */
  apiCalls: Call[];
}

async function run(
  argv: string[],
  opts: { api?: Partial<ApiMethods>; connector?: Partial<LoomConnector>; env?: NodeJS.ProcessEnv; cli?: ReturnType<typeof buildCli>; stdin?: string } = {},
): Promise<Run> {
  const calls: Call[] = [];
  const connector: LoomConnector = {
    open: async (o) => {
      calls.push({ method: 'open', input: o });
      return {
        api: stubApi(calls, opts.api ?? {}),
        project: { project_dir: '/p', project_id: 'proj-1', mode: 'embedded' },
        events: { subscribe: () => () => {} },
      };
    },
    init: async (o) => {
      calls.push({ method: 'init', input: o });
      return {
        project: { id: 'proj-1', name: o.name ?? 'demo', created_at: iso(0) },
        created: true,
        config_path: '/p/.loom/config.yaml',
        mode: 'embedded',
      };
    },
    migrate: async (o) => {
      calls.push({ method: 'migrate', input: o });
      return { applied: ['0001_task_graph'], version: 1 };
    },
    daemonStatus: async (o) => {
      calls.push({ method: 'daemonStatus', input: o });
      return { running: true, data_dir: '/p/.loom/data', pid: 4242, uptime_s: 90, requests: 7 };
    },
    daemonStop: async (o) => {
      calls.push({ method: 'daemonStop', input: o });
      return { stopped: true, data_dir: '/p/.loom/data' };
    },
    serveMcp: async (o) => {
      calls.push({ method: 'serveMcp', input: o });
    },
    orchestrate: async (o) => {
      calls.push({ method: 'orchestrate', input: o });
      return { ticks: 1, dispatched: null };
    },
    doctor: async (o) => {
      calls.push({ method: 'doctor', input: o });
      return [{ name: 'config', status: 'ok', detail: 'fine' }];
    },
    runDemo: async (o) => {
      calls.push({ method: 'runDemo', input: o });
      return { complete: true, dir: '/tmp/demo' };
    },
    ...opts.connector,
  } as LoomConnector;
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: string[] = [];
  const err: string[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk.toString()));
  stderr.on('data', (chunk: Buffer) => err.push(chunk.toString()));
  const context: LoomCliContext = {
    connector,
    env: opts.env ?? { USER: 'alice' },
    stdin: opts.stdin === undefined ? new PassThrough() : new PassThrough().end(opts.stdin),
    stdout,
    stderr,
    colorDepth: 1,
    pictures: new VizGraphPictures(),
  };
  const code = await runCli(argv, context, opts.cli ?? buildCli('9.9.9', { enableColors: false }));
  await new Promise((resolve) => setImmediate(resolve));
  return {
    code,
    stdout: out.join(''),
    stderr: err.join(''),
    calls,
    apiCalls: calls.filter((c) => c.method !== 'open' && c.method !== 'close'),
  };
}

describe('loom create --from', () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-create-from-'));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };

  it('sends every line of a JSON lines file as one createTasks call and prints the ids in file order', async () => {
    const path = file('t.jsonl', '{"key":"spec","title":"Spec"}\n\n{"key":"api","title":"API","depends_on":["spec"],"priority":"p0"}\n');
    const r = await run(['create', '--from', path, '--origin', 'agent:planner']);
    expect(r.code).toBe(0);
    expect(r.apiCalls).toEqual([
      {
        method: 'createTasks',
        input: {
          project_id: 'proj-1',
          origin: { kind: 'agent', id: 'planner' },
          tasks: [{ key: 'spec', title: 'Spec' }, { key: 'api', title: 'API', depends_on: ['spec'], priority: 'p0' }],
        },
      },
    ]);
    expect(r.stdout).toBe('created loom-000000b0  pending  spec\ncreated loom-000000b1  pending  api\n2 tasks and 1 dependency created in one transaction\n');
    const q = await run(['create', '--from', path, '-q']);
    expect(q.stdout).toBe('loom-000000b0\nloom-000000b1\n');
    const j = await run(['create', '--from', path, '--json']);
    expect(JSON.parse(j.stdout)).toMatchObject({ created: 2, edges: 1, tasks: [{ key: 'spec' }, { key: 'api' }] });
  });

  it('reads YAML (a list or tasks:) and - for stdin, with the safe core schema', async () => {
    const yamlPath = file('t.yaml', 'tasks:\n  - key: epic\n    title: Auth\n    epic: true\n  - title: Reset\n    parent_id: epic\n');
    const r = await run(['create', '--from', yamlPath]);
    expect(r.apiCalls[0]?.input).toMatchObject({ tasks: [{ key: 'epic', title: 'Auth', epic: true }, { title: 'Reset', parent_id: 'epic' }] });
    const s = await run(['create', '--from', '-'], { stdin: '- title: From stdin\n  done_when: 2026-01-01\n' });
    expect(s.code).toBe(0);
    // CORE_SCHEMA: a date stays text, as the API wants it.
    expect(s.apiCalls[0]?.input).toMatchObject({ tasks: [{ title: 'From stdin', done_when: '2026-01-01' }] });
    const evil = await run(['create', '--from', file('evil.yaml', '- title: !!js/function "function () { return 1 }"\n')]);
    expect(evil.code).toBe(1);
    expect(evil.apiCalls).toEqual([]);
  });

  it('refuses a broken file before calling the API, naming the line, and maps item errors back to lines', async () => {
    const broken = await run(['create', '--from', file('b.jsonl', '{"title":"a"}\n{"title":\n')]);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/^VALIDATION_FAILED: .*b\.jsonl: line 2 is not valid JSON/);
    expect(broken.apiCalls).toEqual([]);
    for (const [name, text] of [['e.jsonl', '\n'], ['n.json', '{"x":1}'], ['s.jsonl', '"just text"\n']] as const) {
      const r = await run(['create', '--from', file(name, text)]);
      expect(r.code).toBe(1);
      expect(r.apiCalls).toEqual([]);
    }
    const missing = await run(['create', '--from', join(dir, 'none.jsonl')]);
    expect(missing.stderr).toMatch(/no such file/);
    const bomb = await run(['create', '--from', file('bomb.yaml', ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}, *${String.fromCharCode(97 + i)}]`), 'tasks: [{title: t, context: {v: *i}}]'].join('\n'))]);
    expect(bomb.stderr).toMatch(/aliases are expanded/);
    const mapped = await run(['create', '--from', file('m.jsonl', '{"title":"a"}\n\n{"title":"b","depends_on":["zz"]}\n')], {
      api: {
        createTasks: async () => {
          throw new LoomError('DEPENDENCY_NOT_FOUND', 'tasks[1] (#1): depends_on names no key', { details: { index: 1 } });
        },
      },
    });
    expect(mapped.stderr).toMatch(/m\.jsonl line 3\)/);
  });

  it('is a usage error with per-task flags or without title and file', async () => {
    const both = await run(['create', 'Title', '--from', file('u.jsonl', '{"title":"a"}\n')]);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/--from takes every task's fields from the file; drop title/);
    const none = await run(['create']);
    expect(none.code).toBe(2);
    expect(none.apiCalls).toEqual([]);
  });
});

describe('loom create', () => {
  it('maps flags to createTask and prints the new task', async () => {
    const r = await run([
      'create', 'Ship it',
      '--priority', 'p0',
      '--depends-on', 'loom-00000001',
      '--depends-on', 'loom-00000002',
      '--parent', 'loom-000000ee',
      '--context', '{"file":"a.ts"}',
      '--done-when', 'tests pass',
      '--max-attempts', '5',
      '--origin', 'agent:claude-1',
    ]);
    expect(r.code).toBe(0);
    expect(r.apiCalls).toEqual([
      {
        method: 'createTask',
        input: {
          project_id: 'proj-1',
          title: 'Ship it',
          origin: { kind: 'agent', id: 'claude-1' },
          priority: 'p0',
          depends_on: ['loom-00000001', 'loom-00000002'],
          parent_id: 'loom-000000ee',
          context: { file: 'a.ts' },
          done_when: 'tests pass',
          max_attempts: 5,
        },
      },
    ]);
    expect(r.stdout).toMatch(/^created loom-0000000a {2}pending {2}Ship it\n/);
    expect(r.stderr).toBe('');
  });

  it('passes only what was given, with the operator as default origin, and closes the API', async () => {
    const r = await run(['create', 'Plain'], { env: { USER: 'bob' } });
    expect(r.code).toBe(0);
    expect(r.apiCalls[0]?.input).toEqual({ project_id: 'proj-1', title: 'Plain', origin: { kind: 'cli', id: 'bob' } });
    expect(r.calls.map((c) => c.method)).toEqual(['open', 'createTask', 'close']);
  });

  it('--epic sets epic: true', async () => {
    const r = await run(['create', 'Auth', '--epic']);
    expect(r.apiCalls[0]?.input).toMatchObject({ epic: true });
  });

  it('--quiet prints only the id', async () => {
    const r = await run(['create', 'Scripted', '-q']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('loom-0000000a\n');
  });

  it('--json prints the task as one JSON document', async () => {
    const r = await run(['create', 'As JSON', '--json']);
    expect(r.code).toBe(0);
    const parsed = JSON.parse(r.stdout) as Task;
    expect(parsed).toMatchObject({ id: 'loom-0000000a', title: 'As JSON', status: 'pending' });
  });

  it.each([
    [['--context', '{bad'], /^VALIDATION_FAILED: --context is not valid JSON: /],
    [['--context', '[1,2]'], /^VALIDATION_FAILED: --context must be a JSON object/],
    [['--priority', 'urgent'], /^VALIDATION_FAILED: --priority must be one of p0, p1, p2/],
    [['--max-attempts', '0'], /^VALIDATION_FAILED: --max-attempts must be a positive integer/],
    [['--origin', 'nobody'], /^VALIDATION_FAILED: --origin must look like KIND:ID/],
  ])('%j gives VALIDATION_FAILED with a hint and never reaches the API', async (flags, message) => {
    const r = await run(['create', 'Bad input', ...flags]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toMatch(/\nhint: .+\n$/);
    expect(r.stdout).toBe('');
    expect(r.calls).toEqual([]);
  });

  it('--json turns a validation error into a JSON error document on stdout', async () => {
    const r = await run(['create', 'Bad', '--context', '{', '--json']);
    expect(r.code).toBe(1);
    const parsed = JSON.parse(r.stdout) as { error: { code: string; message: string; hint: string } };
    expect(parsed.error.code).toBe('VALIDATION_FAILED');
    expect(parsed.error.message).toMatch(/^--context is not valid JSON/);
    expect(parsed.error.hint).toBeTruthy();
  });
});

describe('loom update', () => {
  it('--no-deps sets depends_on to [] and passes only the fields given', async () => {
    const r = await run(['update', 'loom-0000000a', '--no-deps', '--title', 'Renamed']);
    expect(r.code).toBe(0);
    expect(r.apiCalls).toEqual([
      { method: 'updateTask', input: { project_id: 'proj-1', task_id: 'loom-0000000a', title: 'Renamed', depends_on: [] } },
    ]);
  });

  it('repeated --depends-on replaces the list; --done-when "" clears it', async () => {
    const r = await run(['update', 'loom-0000000a', '--depends-on', 'loom-00000001', '--depends-on', 'loom-00000002', '--done-when', '']);
    expect(r.apiCalls[0]?.input).toEqual({
      project_id: 'proj-1',
      task_id: 'loom-0000000a',
      depends_on: ['loom-00000001', 'loom-00000002'],
      done_when: null,
    });
  });

  it.each([
    [[], /nothing to update/],
    [['--no-deps', '--depends-on', 'loom-00000001'], /either --depends-on or --no-deps/],
  ])('%j is refused before the API', async (flags, message) => {
    const r = await run(['update', 'loom-0000000a', ...flags]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^VALIDATION_FAILED: /);
    expect(r.stderr).toMatch(message);
    expect(r.calls).toEqual([]);
  });
});

describe('claim and reporting', () => {
  it('claim, done, fail and heartbeat take the agent from LOOM_AGENT_ID when --agent is not given (a job of loom orchestrate --run)', async () => {
    const env = { USER: 'alice', LOOM_AGENT_ID: 'runner-0' };
    const claim = await run(['claim'], { env, api: { claim: async () => ({ claimed: true, task: task({ status: 'claimed', assignee: 'runner-0' }), lease: { token: 'tok', expires_at: iso(600_000) } }) } });
    expect(claim.code).toBe(0);
    expect(claim.apiCalls[0]?.input).toEqual(expect.objectContaining({ agent_id: 'runner-0' }));
    expect(claim.stdout).toContain('--agent runner-0');
    for (const argv of [['done', 'loom-0000000a', '--token', 'tok'], ['fail', 'loom-0000000a', '--token', 'tok', '--reason', 'broke'], ['heartbeat', 'loom-0000000a', '--token', 'tok']]) {
      const r = await run(argv, { env });
      expect(r.apiCalls[0]?.input, argv.join(' ')).toEqual(expect.objectContaining({ agent_id: 'runner-0' }));
    }
    const flagWins = await run(['done', 'loom-0000000a', '--token', 'tok', '--agent', 'bob'], { env });
    expect(flagWins.apiCalls[0]?.input).toEqual(expect.objectContaining({ agent_id: 'bob' }));
    const neither = await run(['claim'], { env: { USER: 'alice' } });
    expect(neither.code).toBe(2);
    expect(neither.stderr).toContain('LOOM_AGENT_ID');
    expect(neither.calls).toEqual([]);
  });

  it('claim prints the lease and the exact done command', async () => {
    const r = await run(['claim', '--agent', 'worker-1', '--lease-seconds', '600'], {
      api: {
        claim: async () => ({
          claimed: true,
          task: task({ status: 'claimed', assignee: 'worker-1' }),
          lease: { token: 'tok-abc', expires_at: iso(600_000) },
        }),
      },
    });
    expect(r.code).toBe(0);
    expect(r.apiCalls[0]?.input).toEqual({ project_id: 'proj-1', agent_id: 'worker-1', lease_seconds: 600 });
    expect(r.stdout).toContain('claimed loom-0000000a');
    expect(r.stdout).toContain('tok-abc');
    expect(r.stdout).toContain('loom done loom-0000000a --agent worker-1 --token tok-abc');
  });

  it('claim --count claims several at once and prints each with its own lease; --json prints them all', async () => {
    const claims = [
      { task: task({ id: 'loom-0000000a', status: 'claimed', assignee: 'w' }), lease: { token: 'tok-a', expires_at: iso(300_000) } },
      { task: task({ id: 'loom-0000000b', status: 'claimed', assignee: 'w' }), lease: { token: 'tok-b', expires_at: iso(300_000) } },
    ];
    const r = await run(['claim', '--count', '3', '--agent', 'w'], { api: { claimBatch: async () => ({ claims }) } });
    expect(r.code).toBe(0);
    expect(r.apiCalls[0]).toEqual(expect.objectContaining({ method: 'claimBatch', input: { project_id: 'proj-1', agent_id: 'w', count: 3 } }));
    expect(r.stdout).toContain('claimed 2 tasks (of 3 asked for)');
    expect(r.stdout).toContain('loom done loom-0000000a --agent w --token tok-a');
    expect(r.stdout).toContain('loom done loom-0000000b --agent w --token tok-b');
    const json = await run(['claim', '--count', '3', '--agent', 'w', '--json'], { api: { claimBatch: async () => ({ claims }) } });
    expect(JSON.parse(json.stdout).claims.map((c: { lease: { token: string } }) => c.lease.token)).toEqual(['tok-a', 'tok-b']);
    const none = await run(['claim', '--count', '3', '--agent', 'w']);
    expect(none.code).toBe(0);
    expect(none.stdout).toMatch(/nothing is ready/);
    const both = await run(['claim', 'loom-0000000b', '--count', '3', '--agent', 'w']);
    expect(both.code).toBe(2);
    expect(both.apiCalls).toEqual([]);
  });

  it('claim of a given task passes its id', async () => {
    const r = await run(['claim', 'loom-0000000b', '--agent', 'w']);
    expect(r.apiCalls[0]?.input).toEqual({ project_id: 'proj-1', agent_id: 'w', task_id: 'loom-0000000b' });
  });

  it.each([
    [{ claimed: false as const, reason: 'none_ready' as const }, /nothing is ready/],
    [{ claimed: false as const, reason: 'not_ready' as const, task: task({ id: 'loom-0000000b', status: 'blocked' }) }, /loom-0000000b is not ready \(it is blocked\)/],
  ])('an unsuccessful claim is an expected outcome: exit 0 (%j)', async (result, message) => {
    const r = await run(['claim', '--agent', 'w'], { api: { claim: async () => result } });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(message);
  });

  it('claim --json prints the result object', async () => {
    const r = await run(['claim', '--agent', 'w', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ claimed: false, reason: 'none_ready' });
  });

  it.each([
    [[], true],
    [['--no-retry'], false],
  ])('fail %j maps to retryable %s', async (flags, retryable) => {
    const r = await run(['fail', 'loom-0000000a', '--agent', 'w', '--token', 't', '--reason', 'boom', ...flags]);
    expect(r.code).toBe(0);
    expect(r.apiCalls).toEqual([
      {
        method: 'fail',
        input: { project_id: 'proj-1', task_id: 'loom-0000000a', agent_id: 'w', lease_token: 't', reason: 'boom', retryable },
      },
    ]);
  });

  it('fail reports a dead letter', async () => {
    const r = await run(['fail', 'loom-0000000a', '--agent', 'w', '--token', 't', '--reason', 'boom', '--no-retry'], {
      api: {
        fail: async () => ({ task: task({ status: 'failed', attempts: 1, failure_reason: 'boom' }), outcome: 'dead_lettered', run_after: null }),
      },
    });
    expect(r.stdout).toMatch(/dead-lettered/);
  });

  it('done passes --output and prints what it unblocked', async () => {
    const r = await run(['done', 'loom-0000000a', '--agent', 'w', '--token', 't', '--output', '{"pr":42}'], {
      api: {
        done: async () => ({ task: task({ status: 'done' }), unblocked: ['loom-00000002', 'loom-00000003'], completed_epics: ['loom-000000ee'], already_done: false }),
      },
    });
    expect(r.code).toBe(0);
    expect(r.apiCalls[0]?.input).toEqual({ project_id: 'proj-1', task_id: 'loom-0000000a', agent_id: 'w', lease_token: 't', output: { pr: 42 } });
    expect(r.stdout).toContain('unblocked: loom-00000002, loom-00000003');
    expect(r.stdout).toContain('completed epics: loom-000000ee');
  });

  it('heartbeat maps the lease flags', async () => {
    const r = await run(['heartbeat', 'loom-0000000a', '--agent', 'w', '--token', 't', '--lease-seconds', '60']);
    expect(r.code).toBe(0);
    expect(r.apiCalls[0]?.input).toEqual({ project_id: 'proj-1', task_id: 'loom-0000000a', agent_id: 'w', lease_token: 't', lease_seconds: 60 });
  });
});

describe('errors and exit codes', () => {
  it('a LoomError from the API prints CODE: message and the hint on stderr, exits 1, and still closes the API', async () => {
    const r = await run(['cancel', 'loom-deadbeef'], {
      api: {
        cancel: async () => {
          throw taskNotFound('loom-deadbeef');
        },
      },
    });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(`TASK_NOT_FOUND: no task loom-deadbeef in this project\nhint: ${taskNotFound('x').hint}\n`);
    expect(r.calls.at(-1)?.method).toBe('close');
  });

  it('with --json the LoomError is a JSON document on stdout', async () => {
    const r = await run(['cancel', 'loom-deadbeef', '--json'], {
      api: {
        cancel: async () => {
          throw taskNotFound('loom-deadbeef');
        },
      },
    });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual({
      error: {
        code: 'TASK_NOT_FOUND',
        message: 'no task loom-deadbeef in this project',
        hint: taskNotFound('x').hint,
        details: { task_id: 'loom-deadbeef' },
      },
    });
  });

  it('an error from open (no project) is reported with its hint', async () => {
    const r = await run(['ready'], {
      connector: {
        open: async () => {
          throw new LoomError('NO_PROJECT', 'no Loom project here', { hint: 'run `loom init`' });
        },
      },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('NO_PROJECT: no Loom project here\nhint: run `loom init`\n');
  });

  it('an unexpected error prints INTERNAL without a stack, unless LOOM_DEBUG=1', async () => {
    const boom = { events: async (): Promise<never> => { throw new Error('socket hang up'); } };
    const plain = await run(['events'], { api: boom });
    expect(plain.code).toBe(1);
    expect(plain.stderr).toMatch(/^INTERNAL: socket hang up\n/);
    expect(plain.stderr).not.toMatch(/\n\s+at /);
    const debug = await run(['events'], { api: boom, env: { LOOM_DEBUG: '1' } });
    expect(debug.code).toBe(1);
    expect(debug.stderr).toMatch(/^INTERNAL: socket hang up\n/);
    expect(debug.stderr).toMatch(/\n\s+at /);
  });

  it.each([
    [['frobnicate']],
    [['ready', '--bogus']],
    [['claim']], // --agent is required
    [['done', 'loom-0000000a', '--agent', 'w']], // --token is required
    [['create']], // the title is required
    [['ready', '--limit']], // an option without its value
  ])('usage error %j exits 2 on stderr without touching Loom', async (argv) => {
    const r = await run(argv);
    expect(r.code).toBe(2);
    expect(r.stderr).not.toBe('');
    expect(r.stdout).toBe('');
    expect(r.calls).toEqual([]);
  });

  it('a UsageError thrown while a command runs also exits 2', async () => {
    class Strict extends LoomCommand {
      static override paths = [['strict']];
      async execute(): Promise<number> {
        throw new UsageError('strict says no');
      }
    }
    const cli = buildCli('9.9.9', { enableColors: false });
    cli.register(Strict);
    const r = await run(['strict'], { cli });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('strict says no');
  });

  it('--version and --help exit 0', async () => {
    const version = await run(['--version']);
    expect(version.code).toBe(0);
    expect(version.stdout.trim()).toBe('9.9.9');
    const help = await run(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('loom create [');
    expect(help.stdout).not.toContain('\u001b['); // no colours when told so
    const commandHelp = await run(['claim', '--help']);
    expect(commandHelp.code).toBe(0);
    expect(commandHelp.stdout).toContain('--lease-seconds');
  });

  it('keeps Command usage metadata on every command', () => {
    const cli = buildCli('1.0.0');
    for (const def of cli.definitions()) {
      if (def.path === 'loom -h' || def.path === 'loom -v') continue;
      expect(def.description, def.path).toBeTruthy();
      expect(def.examples?.length, def.path).toBeGreaterThan(0);
    }
    expect(Command).toBeDefined();
  });
});

describe('project directory', () => {
  it('--project-dir is passed to the connector', async () => {
    const r = await run(['ready', '--project-dir', '/somewhere']);
    expect(r.calls[0]).toEqual({ method: 'open', input: { projectDir: '/somewhere' } });
  });

  it('falls back to LOOM_PROJECT_DIR, then to nothing', async () => {
    const fromEnv = await run(['ready'], { env: { LOOM_PROJECT_DIR: '/from-env' } });
    expect(fromEnv.calls[0]).toEqual({ method: 'open', input: { projectDir: '/from-env' } });
    const none = await run(['ready'], { env: {} });
    expect(none.calls[0]).toEqual({ method: 'open', input: {} });
  });
});

describe('read commands', () => {
  it('ready says so when nothing is ready, and renders a table otherwise', async () => {
    const empty = await run(['ready']);
    expect(empty.stdout).toMatch(/^nothing ready/);
    const r = await run(['ready', '--limit', '2', '--priority', 'p0'], {
      api: { ready: async () => [task({ priority: 'p0', weight: 12 }), task({ id: 'loom-0000000b', title: 'Second', priority: 'p0' })] },
    });
    expect(r.apiCalls[0]?.input).toEqual({ project_id: 'proj-1', limit: 2, priority: 'p0' });
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+PRI\s+WEIGHT\s+AGE\s+TITLE$/);
    expect(lines[1]).toMatch(/^loom-0000000a\s+p0\s+12\s+2m\s+Write the parser$/);
    expect(lines[2]).toMatch(/^loom-0000000b\s+p0\s+0\s+2m\s+Second$/);
    // Aligned: the titles start where the TITLE header does.
    const column = lines[0]!.indexOf('TITLE');
    expect(lines[1]!.indexOf('Write the parser')).toBe(column);
    expect(lines[2]!.indexOf('Second')).toBe(column);
  });

  it('status without an id shows the overview', async () => {
    const r = await run(['status'], {
      api: {
        overview: async () => ({
          project: { id: 'proj-1', name: 'demo', created_at: iso(0) },
          counts: { pending: 2, blocked: 1, claimed: 0, done: 4, failed: 0, cancelled: 0, epic: 1 },
          total: 8,
          ready: 2,
          blocked: [{ id: 'loom-0000000c', title: 'Waits', blocked_reason: 'dependencies', unmet_deps: 1 }],
          held: [{ id: 'loom-0000000d', title: 'Paused work', status: 'pending', held_at: iso(-60_000), hold_reason: 'API review' }],
          held_counts: { pending: 1 },
          escalations: [],
        }),
      },
    });
    expect(r.code).toBe(0);
    expect(r.apiCalls[0]).toEqual({ method: 'overview', input: { project_id: 'proj-1' } });
    expect(r.stdout).toMatch(/^pending\s+2$/m);
    expect(r.stdout).toMatch(/^total\s+8$/m);
    expect(r.stdout).toContain('ready to claim: 2');
    expect(r.stdout).toMatch(/loom-0000000c\s+dependencies\s+1\s+Waits/);
    expect(r.stdout).toMatch(/^held: never claimed until resumed \(`loom resume`; a budget's hold: `loom budget set`\) \(1\)$/m);
    expect(r.stdout).toMatch(/loom-0000000d\s+pending\s+1m\s+Paused work\s+API review/);
  });

  it('status with an id shows the task detail', async () => {
    const r = await run(['status', 'loom-0000000a'], {
      api: {
        status: async () => ({
          task: task({ depends_on: ['loom-00000001'], done_when: 'green CI' }),
          dependents: ['loom-00000009'],
          dependency_tasks: [],
          dependent_tasks: [],
          children: [],
          escalations: [],
          recent_events: [{ id: 3, project_id: 'proj-1', type: 'task.created', task_id: 'loom-0000000a', agent_id: null, payload: {}, at: iso(-120_000) }],
        }),
      },
    });
    expect(r.code).toBe(0);
    expect(r.apiCalls[0]).toEqual({ method: 'status', input: { project_id: 'proj-1', task_id: 'loom-0000000a' } });
    expect(r.stdout).toMatch(/^depends on\s+loom-00000001$/m);
    expect(r.stdout).toMatch(/^dependents\s+loom-00000009$/m);
    expect(r.stdout).toMatch(/^done when\s+green CI$/m);
    expect(r.stdout).toContain('task.created');
  });

  it.each([
    [[], 'summary', '0 tasks\n'],
    [['--format', 'waves'], 'waves', '0 tasks\n'],
  ])('graph %j asks for %s and prints the text', async (flags, format, out) => {
    const r = await run(['graph', ...flags]);
    expect(r.apiCalls[0]?.input).toEqual({ project_id: 'proj-1', format });
    expect(r.stdout).toBe(out);
  });

  it('graph --format json prints the graph view; a bad format is refused', async () => {
    const graph = { nodes: [], edges: [], waves: [], stuck: [] };
    const r = await run(['graph', '--format', 'json'], { api: { graph: async () => ({ format: 'json', graph }) } });
    expect(JSON.parse(r.stdout)).toEqual(graph);
    const bad = await run(['graph', '--format', 'png']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^VALIDATION_FAILED: --format/);
    expect(bad.calls).toEqual([]);
  });

  it('graph --format svg|html asks for dot (with --epic and --expand) and draws it here; -o writes the file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loom-cli-graph-'));
    try {
      const nodes = [{ id: 'loom-0000000a', title: 'A <b> "x"', status: 'pending' as const, priority: 'p1' as const, parent_id: null, depends_on: [], weight: 0, created_at: iso(0) }];
      const view = { nodes, edges: [] as Array<[string, string]>, waves: [['loom-0000000a']], stuck: [] };
      const picture = buildPicture(view, { collapse: true });
      const graph = async () => ({ format: 'dot' as const, graph: view, picture, text: toDot(picture) });
      const svg = await run(['graph', '--format', 'svg', '--epic', 'loom-0000000e', '--expand'], { api: { graph } });
      expect(svg.code).toBe(0);
      expect(svg.apiCalls[0]?.input).toEqual({ project_id: 'proj-1', format: 'dot', epic_id: 'loom-0000000e', expand: true });
      expect(svg.stdout).toMatch(/^<\?xml[\s\S]*<svg[\s\S]*A &lt;b&gt; &quot;x&quot;[\s\S]*<\/svg>\s*$/);
      const file = join(dir, 'g.html');
      const html = await run(['graph', '--format', 'html', '-o', file], { api: { graph, getProject: async () => ({ id: 'proj-1', name: 'p <1>', created_at: iso(0) }) as never } });
      expect(html.code).toBe(0);
      expect(html.stdout).toMatch(/^wrote .*g\.html: 1 nodes \(1 tasks\), 0 edges, critical path none$/m);
      const page = readFileSync(file, 'utf8');
      expect(page).toContain('<title>Loom graph of p &lt;1&gt;</title>');
      expect(page).toContain("Content-Security-Policy\" content=\"default-src 'none'");
      expect(page).toMatch(/script-src 'sha256-[A-Za-z0-9+/]+=*';/); // only the page's own script runs
      const unwritable = await run(['graph', '--format', 'svg', '-o', join(dir, 'missing', 'g.svg')], { api: { graph } });
      expect(unwritable.code).toBe(1);
      expect(unwritable.stderr).toMatch(/^VALIDATION_FAILED: cannot write .*ENOENT/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('events maps --since and --limit', async () => {
    const r = await run(['events', '--since', '0', '--limit', '10']);
    expect(r.apiCalls[0]?.input).toEqual({ project_id: 'proj-1', since: 0, limit: 10 });
  });
});

describe('operator commands', () => {
  it('init passes --name and points at the next step', async () => {
    const r = await run(['init', '--name', 'payments']);
    expect(r.code).toBe(0);
    expect(r.calls).toEqual([{ method: 'init', input: { name: 'payments' } }]);
    expect(r.stdout).toContain('created project payments (proj-1)');
    expect(r.stdout).toContain('/p/.loom/config.yaml');
    expect(r.stdout).toContain('loom create "First task"');
  });

  it('migrate, daemon status and daemon stop call the connector', async () => {
    const migrate = await run(['migrate', '--project-dir', '/x']);
    expect(migrate.calls).toEqual([{ method: 'migrate', input: { projectDir: '/x' } }]);
    expect(migrate.stdout).toContain('0001_task_graph');
    const status = await run(['daemon', 'status', '--json']);
    expect(JSON.parse(status.stdout)).toMatchObject({ running: true, pid: 4242 });
    const stop = await run(['daemon', 'stop']);
    expect(stop.calls).toEqual([{ method: 'daemonStop', input: {} }]);
    expect(stop.stdout).toContain('stopped');
  });
});

describe('loom hold and loom resume', () => {
  it('hold passes the reason and prints every held id; resume prints each status', async () => {
    const hold = await run(['hold', 'loom-0000000a', '--reason', 'API review'], {
      api: { hold: async () => ({ task: task({ status: 'epic', held_at: iso(0) }), held: ['loom-0000000a', 'loom-0000000b'] }) },
    });
    expect(hold.code).toBe(0);
    expect(hold.apiCalls[0]).toEqual({ method: 'hold', input: { project_id: 'proj-1', task_id: 'loom-0000000a', reason: 'API review' } });
    expect(hold.stdout).toBe('held loom-0000000a\nheld loom-0000000b\n');
    const resume = await run(['resume', 'loom-0000000a'], {
      api: {
        resume: async () => ({
          task: task({ status: 'epic' }),
          resumed: [
            { id: 'loom-0000000a', status: 'epic' },
            { id: 'loom-0000000b', status: 'pending' },
          ],
        }),
      },
    });
    expect(resume.code).toBe(0);
    expect(resume.apiCalls[0]).toEqual({ method: 'resume', input: { project_id: 'proj-1', task_id: 'loom-0000000a' } });
    expect(resume.stdout).toBe('resumed loom-0000000a (epic)\nresumed loom-0000000b (pending)\n');
  });

  it('hold of a done task prints INVALID_TRANSITION with its hint and exits 1', async () => {
    const r = await run(['hold', 'loom-0000000a'], {
      api: {
        hold: async () => {
          throw new LoomError('INVALID_TRANSITION', 'cannot hold task loom-0000000a: it is done', { hint: 'a done task has nothing left to run' });
        },
      },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('INVALID_TRANSITION: cannot hold task loom-0000000a: it is done\nhint: a done task has nothing left to run\n');
  });

  it('list --held asks for held tasks and shows a HELD column', async () => {
    const r = await run(['list', '--held'], { api: { listTasks: async () => [task({ held_at: iso(0) })] } });
    expect(r.apiCalls[0]?.input).toMatchObject({ held: true });
    expect(r.stdout).toMatch(/^ID\s+STATUS\s+HELD\s+PRI/m);
    expect(r.stdout).toMatch(/loom-0000000a\s+pending\s+held\s+p1/);
  });
});

describe('loom project remove', () => {
  const counts = { pending: 2, blocked: 1, claimed: 1, epic: 1, done: 3 };
  const listed = async () => [{ id: 'proj-1', name: 'demo', created_at: iso(0), counts }];
  const openEscalation = async () => [{ id: 'esc-1' }] as never;

  it('without --yes changes nothing: it shows what would be cancelled and refuses with a hint to pass --yes', async () => {
    const r = await run(['project', 'remove'], { api: { projects: listed, escalations: openEscalation } });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('VALIDATION_FAILED: removing project proj-1 (demo) would cancel 5 open task(s) (2 pending, 1 blocked, 1 claimed, 1 epics) and resolve 1 open escalation(s); nothing was changed');
    expect(r.stderr).toContain('hint: pass --yes');
    expect(r.apiCalls.map((c) => c.method)).not.toContain('removeProject');
  });

  it('with --yes removes the project and says what it cancelled', async () => {
    const r = await run(['project', 'remove', '--yes']);
    expect(r.code).toBe(0);
    expect(r.apiCalls).toEqual([{ method: 'removeProject', input: { project_id: 'proj-1' } }]);
    expect(r.stdout).toContain('removed project proj-1 (demo)\ncancelled 1 task(s), resolved 0 escalation(s)');
  });

  it('refuses a project already removed with PROJECT_REMOVED, without --yes too', async () => {
    const r = await run(['project', 'remove'], { api: { getProject: async () => ({ id: 'proj-1', name: 'demo', created_at: iso(0), removed_at: iso(1000) }) } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^PROJECT_REMOVED: project proj-1 was removed/);
  });
});

describe('orchestration commands', () => {
  function escalation(overrides: Partial<Escalation> = {}): Escalation {
    return {
      id: 'esc-0123456789ab',
      project_id: 'proj-1',
      task_id: 'loom-0000000a',
      message: 'which database?\nmore detail below',
      source: 'agent',
      raised_by: 'worker-1',
      status: 'open',
      resolution: null,
      created_at: iso(-300_000),
      resolved_at: null,
      ...overrides,
    };
  }

  it('dlq maps --limit and lists id, attempts, failed, title and the last failure on one line', async () => {
    const r = await run(['dlq', '--limit', '5'], {
      api: {
        deadLetters: async () => [
          task({ status: 'failed', attempts: 3, failure_reason: 'npm ci timed out\n  at step 4', updated_at: iso(-600_000) }),
          task({ id: 'loom-0000000b', title: 'Other', status: 'failed', attempts: 1, max_attempts: 1, failure_reason: 'no' }),
        ],
      },
    });
    expect(r.code).toBe(0);
    expect(r.apiCalls).toEqual([{ method: 'deadLetters', input: { project_id: 'proj-1', limit: 5 } }]);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+ATTEMPTS\s+FAILED\s+TITLE\s+LAST FAILURE$/);
    expect(lines[1]).toMatch(/^loom-0000000a\s+3\/3\s+10m ago\s+Write the parser\s+npm ci timed out \.\.\.$/);
    expect(lines[2]).toMatch(/^loom-0000000b\s+1\/1\s+1m ago\s+Other\s+no$/);
    expect(lines).toHaveLength(3);
    expect(lines[2]!.indexOf('no', lines[0]!.indexOf('LAST FAILURE'))).toBe(lines[0]!.indexOf('LAST FAILURE'));
  });

  it('dlq with no dead letters says so; --json prints the list; a bad --limit never reaches the API', async () => {
    expect((await run(['dlq'])).stdout).toMatch(/^no dead letters/);
    expect((await run(['dlq'])).apiCalls[0]?.input).toEqual({ project_id: 'proj-1' });
    const json = await run(['dlq', '--json'], { api: { deadLetters: async () => [task({ status: 'failed' })] } });
    expect(JSON.parse(json.stdout)).toMatchObject([{ id: 'loom-0000000a', status: 'failed' }]);
    const bad = await run(['dlq', '--limit', '0']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^VALIDATION_FAILED: --limit must be a positive integer/);
    expect(bad.calls).toEqual([]);
  });

  it.each([
    [['redrive', 'loom-0000000a'], { project_id: 'proj-1', task_id: 'loom-0000000a' }],
    [['redrive', '--all'], { project_id: 'proj-1', all: true }],
  ])('%j maps to redrive %j and prints the ids put back', async (argv, input) => {
    const r = await run(argv, { api: { redrive: async () => ({ redriven: ['loom-0000000a', 'loom-0000000b'] }) } });
    expect(r.code).toBe(0);
    expect(r.apiCalls).toEqual([{ method: 'redrive', input }]);
    expect(r.stdout).toBe('redriven loom-0000000a\nredriven loom-0000000b\n');
  });

  it('redrive --all with nothing to redrive says so', async () => {
    const r = await run(['redrive', '--all']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^nothing to redrive/);
  });

  it.each([[['redrive']], [['redrive', 'loom-0000000a', '--all']]])('%j (neither or both) is VALIDATION_FAILED before the API', async (argv) => {
    const r = await run(argv);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^VALIDATION_FAILED: give either a task id or --all \(not both\)\nhint: /);
    expect(r.calls).toEqual([]);
  });

  it.each([
    [[], 'open'],
    [['--all'], 'all'],
    [['--resolved'], 'resolved'],
  ])('escalations %j asks for status %s', async (flags, status) => {
    const r = await run(['escalations', ...flags]);
    expect(r.code).toBe(0);
    expect(r.apiCalls).toEqual([{ method: 'escalations', input: { project_id: 'proj-1', status } }]);
  });

  it('escalations lists id, task, source, raised and the message on one line; resolved ones show their resolution', async () => {
    const open = await run(['escalations'], {
      api: { escalations: async () => [escalation(), escalation({ id: 'esc-00000000000b', source: 'policy', raised_by: null, message: 'dead letter' })] },
    });
    const lines = open.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+TASK\s+SOURCE\s+RAISED\s+MESSAGE$/);
    expect(lines[1]).toMatch(/^esc-0123456789ab\s+loom-0000000a\s+agent:worker-1\s+5m ago\s+which database\? \.\.\.$/);
    expect(lines[2]).toMatch(/^esc-00000000000b\s+loom-0000000a\s+policy\s+5m ago\s+dead letter$/);
    const all = await run(['escalations', '--all'], {
      api: { escalations: async () => [escalation({ status: 'resolved', resolution: 'retry: key rotated', resolved_at: iso(-1000) }), escalation({ id: 'esc-00000000000c' })] },
    });
    const rows = all.stdout.trimEnd().split('\n');
    expect(rows[0]).toMatch(/^ID\s+TASK\s+SOURCE\s+RAISED\s+STATUS\s+MESSAGE$/);
    expect(rows[1]).toMatch(/\sresolved\s+which database\? \.\.\. -> retry: key rotated$/);
    expect(rows[2]).toMatch(/^esc-00000000000c\s.*\sopen\s+which database\? \.\.\.$/);
  });

  it('escalations: none open says so; --all with --resolved is refused', async () => {
    expect((await run(['escalations'])).stdout).toMatch(/^no open escalations/);
    const bad = await run(['escalations', '--all', '--resolved']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^VALIDATION_FAILED: /);
    expect(bad.calls).toEqual([]);
  });

  it('resolve maps every flag and prints what happened to the task', async () => {
    const r = await run(['resolve', 'esc-0123456789ab', '--action', 'done', '--output', '{"pr":42}', '--note', 'did it myself', '--agent', 'lead'], {
      api: {
        resolveEscalation: async () => ({
          escalation: escalation({ status: 'resolved', resolution: 'done: did it myself' }),
          task: task({ status: 'done', output: { pr: 42 } }),
        }),
      },
    });
    expect(r.code).toBe(0);
    expect(r.apiCalls).toEqual([
      {
        method: 'resolveEscalation',
        input: { project_id: 'proj-1', escalation_id: 'esc-0123456789ab', action: 'done', output: { pr: 42 }, note: 'did it myself', agent_id: 'lead' },
      },
    ]);
    expect(r.stdout).toBe('resolved esc-0123456789ab with done\nloom-0000000a is now done  Write the parser\n');
  });

  it.each(['retry', 'cancel', 'unblock'] as const)('resolve --action %s passes only what was given', async (action) => {
    const r = await run(['resolve', 'esc-0123456789ab', '--action', action, '--json'], {
      api: { resolveEscalation: async () => ({ escalation: escalation({ status: 'resolved', resolution: action }), task: task({ status: 'pending' }) }) },
    });
    expect(r.code).toBe(0);
    expect(r.apiCalls[0]?.input).toEqual({ project_id: 'proj-1', escalation_id: 'esc-0123456789ab', action });
    expect(JSON.parse(r.stdout)).toMatchObject({ escalation: { resolution: action }, task: { status: 'pending' } });
  });

  it.each([
    [['--action', 'ignore'], /^VALIDATION_FAILED: --action must be one of retry, cancel, done, unblock/],
    [['--action', 'retry', '--output', '{}'], /^VALIDATION_FAILED: --output goes only with --action done/],
    [['--action', 'done', '--output', '[1]'], /^VALIDATION_FAILED: --output must be a JSON object/],
  ])('resolve %j is VALIDATION_FAILED before the API', async (flags, message) => {
    const r = await run(['resolve', 'esc-0123456789ab', ...flags]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.calls).toEqual([]);
  });

  it.each([[['resolve', 'esc-0123456789ab']], [['resolve', '--action', 'retry']]])('%j (no action or no id) is a usage error', async (argv) => {
    const r = await run(argv);
    expect(r.code).toBe(2);
    expect(r.calls).toEqual([]);
  });

  it('a second resolve refused by the API exits 1 with its code', async () => {
    const r = await run(['resolve', 'esc-0123456789ab', '--action', 'retry'], {
      api: {
        resolveEscalation: async () => {
          throw new LoomError('INVALID_TRANSITION', 'escalation esc-0123456789ab is already resolved (retry)', { hint: '`loom escalations` lists the open ones' });
        },
      },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^INVALID_TRANSITION: escalation esc-0123456789ab is already resolved/);
    expect(r.calls.at(-1)?.method).toBe('close');
  });

  it('agents lists agent, status, last seen and claims', async () => {
    const r = await run(['agents'], {
      api: {
        agents: async () => [
          { agent_id: 'worker-1', first_seen: iso(-3_600_000), last_seen: iso(-120_000), claims: ['loom-0000000a', 'loom-0000000b'], status: 'active' },
          { agent_id: 'w2', first_seen: iso(-7_200_000), last_seen: iso(-7_200_000), claims: [], status: 'gone' },
        ],
      },
    });
    expect(r.code).toBe(0);
    expect(r.apiCalls).toEqual([{ method: 'agents', input: { project_id: 'proj-1' } }]);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^AGENT\s+STATUS\s+LAST SEEN\s+CLAIMS$/);
    expect(lines[1]).toMatch(/^worker-1\s+active\s+2m ago\s+loom-0000000a, loom-0000000b$/);
    expect(lines[2]).toMatch(/^w2\s+gone\s+2h ago\s+-$/);
    expect((await run(['agents'])).stdout).toMatch(/^no agents seen yet/);
  });

  it('tick runs one reconcile and prints what it did, or "nothing to do"', async () => {
    const idle = await run(['tick']);
    expect(idle.code).toBe(0);
    expect(idle.apiCalls).toEqual([{ method: 'reconcile', input: { project_id: 'proj-1' } }]);
    expect(idle.stdout).toBe('nothing to do\n');
    const busy = await run(['tick'], {
      api: {
        reconcile: async () => ({
          requeued: ['loom-0000000a', 'loom-0000000b'],
          dead_lettered: ['loom-0000000c'],
          escalated: [],
          stuck: ['loom-0000000d'],
          epics_completed: ['loom-000000ee'],
          dependents_blocked: [],
          dependents_cancelled: ['loom-0000000f'],
        }),
      },
    });
    expect(busy.stdout).toBe(
      [
        'requeued              loom-0000000a, loom-0000000b',
        'dead-lettered         loom-0000000c',
        'stuck                 loom-0000000d',
        'epics completed       loom-000000ee',
        'dependents cancelled  loom-0000000f',
        '',
      ].join('\n'),
    );
    const json = await run(['tick', '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ requeued: [], stuck: [] });
  });

  it('heartbeat --progress passes the note', async () => {
    const r = await run(['heartbeat', 'loom-0000000a', '--agent', 'w', '--token', 't', '--progress', 'parser done']);
    expect(r.code).toBe(0);
    expect(r.apiCalls[0]?.input).toEqual({ project_id: 'proj-1', task_id: 'loom-0000000a', agent_id: 'w', lease_token: 't', progress: 'parser done' });
  });

  it('the new commands are listed under Orchestration', async () => {
    const cli = buildCli('1.0.0');
    const orchestration = cli.definitions().filter((d) => d.category?.trim() === 'Orchestration').map((d) => d.path);
    for (const name of ['dlq', 'redrive', 'escalations', 'resolve', 'agents', 'tick', 'metrics', 'costs']) {
      expect(orchestration).toContain(`loom ${name}`);
    }
  });
});

describe('loom metrics', () => {
  const metrics: ProjectMetrics = {
    project_id: 'proj-1',
    at: iso(0),
    tasks: { pending: 3, blocked: 1, claimed: 1, done: 4, failed: 1, cancelled: 0, epic: 0 },
    ready: 2,
    open_escalations: 1,
    counters: { claims: 7, completions: 4, failures: 2, lease_expiries: 1, retries: 1, dead_letters: 1 },
    claim_to_done_seconds: { buckets: [{ le: 60, count: 1 }, { le: 300, count: 3 }, { le: 600, count: 4 }], sum: 800, count: 4 },
    agents: { active: 2, idle: 0, gone: 1 },
    workflow_runs: { running: 1, done: 0, failed: 0, escalated: 0, cancelled: 0 },
    relays: [],
    events_behind: 0,
  };

  it('prints the figures, and --json passes them through', async () => {
    const r = await run(['metrics'], { api: { metrics: async () => metrics } });
    expect(r.code).toBe(0);
    expect(r.apiCalls).toEqual([{ method: 'metrics', input: { project_id: 'proj-1' } }]);
    expect(r.stdout).toContain('tasks          pending 3, blocked 1, claimed 1, done 4, failed 1\n');
    expect(r.stdout).toContain('claims         7   completions 4   failures 2\n');
    expect(r.stdout).toContain('claim to done  mean 200.0 s, median <= 300 s (4 completions)\n');
    expect(r.stdout).toContain('agents         active 2, gone 1\n');
    const json = await run(['metrics', '--json'], { api: { metrics: async () => metrics } });
    expect(JSON.parse(json.stdout)).toEqual(metrics);
  });
});

describe('loom fsck', () => {
  const damaged: FsckReport = {
    ok: false,
    project_id: 'proj-1',
    checked: { tasks: 12, edges: 9, events: 40 },
    violations: [
      { check: 'unmet_deps', message: 'loom-0000000b has unmet_deps 2, but 1 of its 2 dependencies is not done', task_ids: ['loom-0000000b'] },
      { check: 'cycle', message: 'dependency cycle: loom-0000000c -> loom-0000000d -> loom-0000000c', task_ids: ['loom-0000000c', 'loom-0000000d'] },
      { check: 'epic_children', message: 'epic loom-0000000e is done but 4 children are still open', task_ids: ['loom-0000000e', 'loom-00000001', 'loom-00000002', 'loom-00000003', 'loom-00000004'] },
    ],
    due: [{ check: 'lease', message: 'loom-0000000f: the lease of bob expired at 2025-01-01T00:00:00.000Z; the tick requeues it', task_ids: ['loom-0000000f'] }],
    totals: { violations: 3, due: 1 },
  };

  it('a clean project: what was checked, "ok", exit 0', async () => {
    const r = await run(['fsck']);
    expect(r.code).toBe(0);
    expect(r.apiCalls).toEqual([{ method: 'fsck', input: { project_id: 'proj-1' } }]);
    expect(r.stdout).toBe('checked 0 tasks, 0 dependencies, 1 event\n\nok: no violations\n');
  });

  it('lists each violation with its task ids, then what is due; exit 1', async () => {
    const r = await run(['fsck'], { api: { fsck: async () => damaged } });
    expect(r.code).toBe(1);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('checked 12 tasks, 9 dependencies, 40 events');
    expect(lines).toContain('violations');
    expect(r.stdout).toMatch(/^ {2}CHECK\s+TASKS\s+MESSAGE$/m);
    expect(r.stdout).toMatch(/^ {2}unmet_deps\s+loom-0000000b\s+loom-0000000b has unmet_deps 2/m);
    expect(r.stdout).toMatch(/^ {2}cycle\s+loom-0000000c,loom-0000000d\s+dependency cycle: /m);
    expect(r.stdout).toMatch(/^ {2}epic_children\s+loom-0000000e,loom-00000001,loom-00000002,\+2\s+epic loom-0000000e is done/m);
    expect(r.stdout).toMatch(/^due \(the next reconcile tick handles these\)\n {2}CHECK.*\n {2}lease\s+loom-0000000f\s+/m);
    expect(lines.at(-1)).toMatch(/^3 violations found: `loom fsck --repair` recomputes/);
  });

  it('--repair asks for it and says what it rewrote; --json prints the report and still exits 1 on violations', async () => {
    const repaired = {
      ...damaged,
      violations: damaged.violations.slice(1),
      totals: { violations: 2, due: 1 },
      repaired: { unmet_deps: ['loom-0000000b'], weights: [], unblocked: ['loom-0000000b'], blocked: [], counts: { unmet_deps: 1, weights: 0, unblocked: 1, blocked: 0 } },
    };
    const r = await run(['fsck', '--repair'], { api: { fsck: async () => repaired } });
    expect(r.code).toBe(1);
    expect(r.apiCalls).toEqual([{ method: 'fsck', input: { project_id: 'proj-1', repair: true } }]);
    expect(r.stdout).toContain('repair:\n  1 unmet_deps counter(s) recounted: loom-0000000b\n  1 task(s) unblocked: loom-0000000b\n');
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('2 violations remain: these need a person');
    const json = await run(['fsck', '--json'], { api: { fsck: async () => damaged } });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual(damaged);
  });

  it('doctor --deep asks the connector for the deep check', async () => {
    const r = await run(['doctor', '--deep']);
    expect(r.calls).toEqual([{ method: 'doctor', input: { deep: true } }]);
  });
});

describe('loom skills', () => {
  const rendered = { name: 'write_spec', source: 'builtin', version: '1.0.0', content_hash: 'h', text: 'the rendered text', run_id: 7 };

  it('render passes the task, each --arg (split at the first =) and the agent, and prints the text', async () => {
    const r = await run(['skills', 'render', 'write_spec', '--task', 'loom-00000001', '--arg', 'feature=a=b', '--arg', 'audience=ops'], {
      api: { renderSkill: async () => rendered },
      env: { USER: 'alice', LOOM_AGENT_ID: 'claude-1' },
    });
    expect(r.code).toBe(0);
    expect(r.apiCalls).toEqual([
      {
        method: 'renderSkill',
        input: { project_id: 'proj-1', name: 'write_spec', task_id: 'loom-00000001', arguments: { feature: 'a=b', audience: 'ops' }, agent_id: 'claude-1' },
      },
    ]);
    expect(r.stdout).toBe('the rendered text\n');
  });

  it('render refuses an --arg without = before calling anything', async () => {
    const r = await run(['skills', 'render', 'write_spec', '--arg', 'feature']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('VALIDATION_FAILED');
    expect(r.apiCalls).toEqual([]);
  });

  it('list prints a table, then the broken files as file:line: reason', async () => {
    const r = await run(['skills', 'list'], {
      api: {
        skills: async () => ({
          skills: [{ name: 'write_spec', description: 'Write a spec', version: '1.0.0', source: 'builtin', arguments: [{ name: 'feature', required: true }], tags: [], suggested_for: [] }],
          problems: [{ file: '/p/.loom/skills/bad.md', line: 3, reason: 'version: must be a semver string like 1.0.0' }],
        }),
      },
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/write_spec\s+1\.0\.0\s+builtin\s+feature\s+Write a spec/);
    expect(r.stdout).toContain('/p/.loom/skills/bad.md:3: version: must be a semver string like 1.0.0');
  });

  it('new asks the connector to write the skeleton', async () => {
    const r = await run(['skills', 'new', 'team_check'], { connector: { newSkill: async (o) => ({ path: `/p/.loom/skills/${o.name}.md`, name: o.name }) } });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('wrote /p/.loom/skills/team_check.md');
  });
});

describe('everyday commands: list, show, dep, next, message, inbox', () => {
  const ref = (id: string, overrides: Partial<Task> = {}) => {
    const t = task({ id, ...overrides });
    return { id: t.id, title: t.title, status: t.status, priority: t.priority, unmet_deps: t.unmet_deps, blocked_reason: t.blocked_reason };
  };
  const detail = (overrides: Partial<Task> = {}, extra: Partial<Awaited<ReturnType<LoomApi['status']>>> = {}) => ({
    task: task(overrides),
    dependents: [],
    dependency_tasks: [],
    dependent_tasks: [],
    children: [],
    escalations: [],
    recent_events: [],
    ...extra,
  });

  it('list passes each filter, statuses repeated or comma-separated, with the default limit', async () => {
    const r = await run(['list', '--status', 'pending', '--status', 'Blocked,claimed', '--search', '50%_off', '--parent', 'loom-0000000e'], {
      api: { listTasks: async () => [task({ id: 'loom-0000000a', depends_on: ['loom-00000001', 'loom-00000002'] })] },
    });
    expect(r.code).toBe(0);
    expect(r.apiCalls).toEqual([
      {
        method: 'listTasks',
        input: { project_id: 'proj-1', limit: 50, statuses: ['pending', 'blocked', 'claimed'], search: '50%_off', parent_id: 'loom-0000000e' },
      },
    ]);
    expect(r.stdout).toMatch(/^ID\s+STATUS\s+PRI\s+DEPS\s+TITLE$/m);
    expect(r.stdout).toMatch(/^loom-0000000a\s+pending\s+p1\s+2\s+Write the parser$/m);
  });

  it('list refuses an unknown status, a limit over 1000 and an empty search before calling the API', async () => {
    for (const argv of [['list', '--status', 'open'], ['list', '--limit', '1001'], ['list', '--limit', '0'], ['list', '--search', '']]) {
      const r = await run(argv);
      expect(r.code, argv.join(' ')).toBe(1);
      expect(r.stderr).toContain('VALIDATION_FAILED');
      expect(r.apiCalls).toEqual([]);
    }
    const r = await run(['list', '--status', 'open']);
    expect(r.stderr).toContain('pending, blocked, claimed, done, failed, cancelled, epic');
  });

  it('list says when the limit cut it short, and prints JSON with --json', async () => {
    const two = [task({ id: 'loom-0000000a' }), task({ id: 'loom-0000000b' })];
    const r = await run(['list', '--limit', '2'], { api: { listTasks: async () => two } });
    expect(r.stdout).toContain('the first 2; there may be more');
    const json = await run(['list', '--json'], { api: { listTasks: async () => two } });
    expect(JSON.parse(json.stdout).map((t: Task) => t.id)).toEqual(['loom-0000000a', 'loom-0000000b']);
    const none = await run(['list', '--search', 'x']);
    expect(none.stdout).toBe('no tasks match\n');
  });

  it('list escapes control characters in titles', async () => {
    const r = await run(['list'], { api: { listTasks: async () => [task({ title: 'evil \u001b[2J title' })] } });
    expect(r.stdout).toContain('evil \\u001b[2J title');
    expect(r.stdout).not.toContain('\u001b');
  });

  it('show reads the task and its own history, and prints dependencies and dependents with status and title', async () => {
    const r = await run(['show', 'loom-0000000a'], {
      api: {
        status: async () =>
          detail(
            { id: 'loom-0000000a', status: 'blocked', blocked_reason: 'dependencies', unmet_deps: 1, depends_on: ['loom-00000001'], context: { file: 'a.ts' }, output: null },
            { dependents: ['loom-00000009'], dependency_tasks: [ref('loom-00000001', { title: 'Design it' })], dependent_tasks: [ref('loom-00000009', { title: 'Ship it', status: 'blocked' })] },
          ),
        events: async () => [{ id: 3, project_id: 'proj-1', type: 'task.created', task_id: 'loom-0000000a', agent_id: null, payload: { title: 'x' }, at: iso(-120_000) }],
      },
    });
    expect(r.code).toBe(0);
    expect(r.apiCalls).toEqual([
      { method: 'status', input: { project_id: 'proj-1', task_id: 'loom-0000000a' } },
      { method: 'events', input: { project_id: 'proj-1', task_id: 'loom-0000000a', limit: 200 } },
    ]);
    expect(r.stdout).toMatch(/^status\s+blocked \(dependencies, 1 unmet\)$/m);
    expect(r.stdout).toMatch(/depends on \(1\)\n\s+ID.*\n\s+loom-00000001\s+pending\s+p1\s+Design it/);
    expect(r.stdout).toMatch(/dependents \(1\)\n\s+ID.*\n\s+loom-00000009\s+blocked\s+p1\s+Ship it/);
    expect(r.stdout).toContain('"file": "a.ts"');
    expect(r.stdout).toMatch(/history \(1, newest last\)\n.*\n\s+3\s.*task\.created/);
    const json = await run(['show', 'loom-0000000a', '--json'], { api: { status: async () => detail(), events: async () => [] } });
    expect(JSON.parse(json.stdout)).toMatchObject({ task: { title: 'Write the parser' }, history: [] });
  });

  it('show needs an id (a usage error)', async () => {
    const r = await run(['show']);
    expect(r.code).toBe(2);
    expect(r.apiCalls).toEqual([]);
  });

  it('dep add and dep rm send the edges to add or remove, split and de-duplicated', async () => {
    const add = await run(['dep', 'add', 'loom-0000000a', 'loom-00000001', 'loom-00000002,loom-00000001'], {
      api: { updateTask: async () => task({ id: 'loom-0000000a', status: 'blocked', blocked_reason: 'dependencies', unmet_deps: 2, depends_on: ['loom-00000001', 'loom-00000002'] }) },
    });
    expect(add.code).toBe(0);
    expect(add.apiCalls).toEqual([
      { method: 'updateTask', input: { project_id: 'proj-1', task_id: 'loom-0000000a', add_depends_on: ['loom-00000001', 'loom-00000002'] } },
    ]);
    expect(add.stdout).toContain('depends on: loom-00000001, loom-00000002');
    expect(add.stdout).toContain('waiting on 2 unfinished');

    const rm = await run(['dep', 'rm', 'loom-0000000a', 'loom-00000001'], { api: { updateTask: async () => task({ id: 'loom-0000000a', depends_on: [] }) } });
    expect(rm.code).toBe(0);
    expect(rm.apiCalls).toEqual([{ method: 'updateTask', input: { project_id: 'proj-1', task_id: 'loom-0000000a', remove_depends_on: ['loom-00000001'] } }]);
    expect(rm.stdout).toContain('loom-0000000a  pending  Write the parser\ndepends on: none');
  });

  it('dep rm names a dependency that stays because the epic passes it on', async () => {
    const r = await run(['dep', 'rm', 'loom-0000000a', 'loom-00000001'], {
      api: { updateTask: async () => task({ id: 'loom-0000000a', parent_id: 'loom-0000000e', depends_on: ['loom-00000001'] }) },
    });
    expect(r.stdout).toContain('still waits for loom-00000001: inherited from its epic loom-0000000e');
  });

  it('dep add without a dependency is a usage error; a cycle refused by the API exits 1 with its code', async () => {
    const none = await run(['dep', 'add', 'loom-0000000a']);
    expect(none.code).toBe(2);
    expect(none.apiCalls).toEqual([]);
    const cycle = await run(['dep', 'add', 'loom-0000000a', 'loom-00000001'], {
      api: {
        updateTask: async () => {
          throw new LoomError('DEPENDENCY_CYCLE', 'would close a cycle', { hint: 'remove an edge' });
        },
      },
    });
    expect(cycle.code).toBe(1);
    expect(cycle.stderr).toContain('DEPENDENCY_CYCLE: would close a cycle');
  });

  it('next shows the first ready task and only the dependents that wait for nothing else; it claims nothing', async () => {
    const r = await run(['next'], {
      api: {
        ready: async () => [task({ id: 'loom-0000000a' })],
        status: async () =>
          detail(
            { id: 'loom-0000000a' },
            {
              dependent_tasks: [
                ref('loom-00000002', { status: 'blocked', blocked_reason: 'dependencies', unmet_deps: 1, title: 'Only waits on it' }),
                ref('loom-00000003', { status: 'blocked', blocked_reason: 'dependencies', unmet_deps: 2, title: 'Waits on more' }),
                ref('loom-00000004', { status: 'blocked', blocked_reason: 'escalation', unmet_deps: 1, title: 'Waits on a person' }),
              ],
            },
          ),
      },
    });
    expect(r.code).toBe(0);
    expect(r.apiCalls.map((c) => c.method)).toEqual(['ready', 'status']);
    expect(r.apiCalls[0]!.input).toEqual({ project_id: 'proj-1', limit: 1 });
    expect(r.stdout).toContain('finishing it unblocks 1 task:');
    expect(r.stdout).toContain('Only waits on it');
    expect(r.stdout).not.toContain('Waits on more');
    expect(r.stdout).not.toContain('Waits on a person');
    const json = await run(['next', '--json'], { api: { ready: async () => [] } });
    expect(JSON.parse(json.stdout)).toEqual({ task: null, unblocks: [] });
    const none = await run(['next']);
    expect(none.stdout).toContain('nothing ready');
  });

  it('message sends as --from, else LOOM_AGENT_ID, else the user, joining the words', async () => {
    const sent = async (input: { from_agent: string; to_agent: string; body: string }) => ({
      id: 7, project_id: 'proj-1', from_agent: input.from_agent, to_agent: input.to_agent, thread_id: null, body: input.body, created_at: iso(0),
    });
    const asUser = await run(['message', 'bob', 'hello', 'there'], { api: { sendMessage: sent } });
    expect(asUser.code).toBe(0);
    expect(asUser.apiCalls).toEqual([{ method: 'sendMessage', input: { project_id: 'proj-1', from_agent: 'alice', to_agent: 'bob', body: 'hello there' } }]);
    expect(asUser.stdout).toBe('sent message 7 from alice to bob\n');
    const asAgent = await run(['message', '*', 'freeze', '--thread', 't1'], { api: { sendMessage: sent }, env: { USER: 'alice', LOOM_AGENT_ID: 'claude-1' } });
    expect(asAgent.apiCalls[0]!.input).toEqual({ project_id: 'proj-1', from_agent: 'claude-1', to_agent: '*', body: 'freeze', thread_id: 't1' });
    expect(asAgent.stdout).toContain('to everyone');
    const given = await run(['message', 'bob', 'hi', '--from', 'claude-9'], { api: { sendMessage: sent }, env: { LOOM_AGENT_ID: 'claude-1' } });
    expect((given.apiCalls[0]!.input as { from_agent: string }).from_agent).toBe('claude-9');
    const noText = await run(['message', 'bob']);
    expect(noText.code).toBe(2);
  });

  it('inbox reads as --agent, else LOOM_AGENT_ID, else the user, and says how many it marked read', async () => {
    const messages = [
      { id: 4, project_id: 'proj-1', from_agent: 'bob', to_agent: 'alice', thread_id: null, body: 'line one\nline \u001b[31mtwo', created_at: iso(-60_000) },
      { id: 5, project_id: 'proj-1', from_agent: 'carol', to_agent: '*', thread_id: 'th', body: 'all hands', created_at: iso(-30_000) },
    ];
    const r = await run(['inbox'], { api: { inbox: async () => messages } });
    expect(r.apiCalls).toEqual([{ method: 'inbox', input: { project_id: 'proj-1', agent_id: 'alice' } }]);
    expect(r.stdout).toContain('2 unread messages for alice, now marked read:');
    expect(r.stdout).toContain('#5  from carol (to everyone)');
    expect(r.stdout).toContain('[thread th]');
    expect(r.stdout).toContain('  line one\n  line \\u001b[31mtwo');
    const agent = await run(['inbox', '--json', '--limit', '5'], { api: { inbox: async () => [] }, env: { LOOM_AGENT_ID: 'claude-1' } });
    expect(agent.apiCalls[0]!.input).toEqual({ project_id: 'proj-1', agent_id: 'claude-1', limit: 5 });
    expect(JSON.parse(agent.stdout)).toEqual({ agent_id: 'claude-1', marked_read: 0, messages: [] });
    const empty = await run(['inbox', '--agent', 'dave']);
    expect(empty.stdout).toBe('no unread messages for dave\n');
  });
});

describe('labels: --label, --add-label, --remove-label, --no-labels', () => {
  const detail = (overrides: Partial<Task> = {}) => ({
    task: task(overrides),
    dependents: [],
    dependency_tasks: [],
    dependent_tasks: [],
    children: [],
    escalations: [],
    recent_events: [],
  });

  it('create passes --label repeated or comma-separated, a repeat collapsed, case kept for the API to judge', async () => {
    const r = await run(['create', 'Tagged', '--label', 'bug', '--label', 'area:cli, ui', '--label', 'bug', '--label', 'Loud']);
    expect(r.code).toBe(0);
    expect(r.apiCalls[0]?.input).toMatchObject({ labels: ['bug', 'area:cli', 'ui', 'Loud'] });
    const plain = await run(['create', 'Plain']);
    expect(plain.apiCalls[0]?.input).not.toHaveProperty('labels');
  });

  it('update --label replaces, --no-labels clears, --add-label / --remove-label edit, and prints the labels', async () => {
    const replace = await run(['update', 'loom-0000000a', '--label', 'a', '--label', 'b'], { api: { updateTask: async () => task({ labels: ['a', 'b'] }) } });
    expect(replace.apiCalls[0]?.input).toEqual({ project_id: 'proj-1', task_id: 'loom-0000000a', labels: ['a', 'b'] });
    expect(replace.stdout).toMatch(/^labels: a, b$/m);
    const clear = await run(['update', 'loom-0000000a', '--no-labels']);
    expect(clear.apiCalls[0]?.input).toEqual({ project_id: 'proj-1', task_id: 'loom-0000000a', labels: [] });
    expect(clear.stdout).toMatch(/^labels: \(none\)$/m);
    const edit = await run(['update', 'loom-0000000a', '--add-label', 'x,y', '--remove-label', 'z']);
    expect(edit.apiCalls[0]?.input).toEqual({ project_id: 'proj-1', task_id: 'loom-0000000a', add_labels: ['x', 'y'], remove_labels: ['z'] });
    const title = await run(['update', 'loom-0000000a', '--title', 'T']);
    expect(title.stdout).not.toMatch(/labels:/);
  });

  it.each([
    [['--label', 'a', '--add-label', 'b'], /--label replaces every label/],
    [['--no-labels', '--remove-label', 'b'], /--no-labels replaces every label/],
    [['--no-labels', '--label', 'a'], /either --label or --no-labels/],
  ])('update %j is refused before the API', async (flags, message) => {
    const r = await run(['update', 'loom-0000000a', ...flags]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^VALIDATION_FAILED: /);
    expect(r.stderr).toMatch(message);
    expect(r.calls).toEqual([]);
  });

  it('list --label and ready --label pass the filter (all of them); a LABELS column shows only when some task has labels', async () => {
    const tagged = [task({ id: 'loom-0000000a', labels: ['area:cli', 'bug'] }), task({ id: 'loom-0000000b' })];
    const r = await run(['list', '--label', 'bug', '--label', 'area:cli'], { api: { listTasks: async () => tagged } });
    expect(r.apiCalls[0]?.input).toEqual({ project_id: 'proj-1', limit: 50, labels: ['bug', 'area:cli'] });
    expect(r.stdout).toMatch(/^ID\s+STATUS\s+PRI\s+DEPS\s+TITLE\s+LABELS$/m);
    expect(r.stdout).toMatch(/^loom-0000000a\s+pending\s+p1\s+0\s+Write the parser\s+area:cli,bug$/m);
    const bare = await run(['list'], { api: { listTasks: async () => [task()] } });
    expect(bare.stdout).not.toContain('LABELS');
    const none = await run(['list', '--label', 'nope']);
    expect(none.stdout).toBe('no tasks match\n');

    const ready = await run(['ready', '--label', 'bug'], { api: { ready: async () => [tagged[0]!] } });
    expect(ready.apiCalls[0]?.input).toEqual({ project_id: 'proj-1', labels: ['bug'] });
    expect(ready.stdout).toMatch(/LABELS$/m);
    const nothing = await run(['ready', '--label', 'bug']);
    expect(nothing.stdout).toBe('no ready task has the label bug\n');
  });

  it('show and status print the labels when there are some', async () => {
    const withLabels = { status: async () => detail({ labels: ['area:cli', 'bug'] }) };
    expect((await run(['show', 'loom-0000000a'], { api: withLabels })).stdout).toMatch(/^labels\s+area:cli, bug$/m);
    expect((await run(['status', 'loom-0000000a'], { api: withLabels })).stdout).toMatch(/^labels\s+area:cli, bug$/m);
    expect((await run(['show', 'loom-0000000a'], { api: { status: async () => detail() } })).stdout).not.toMatch(/^labels/m);
  });
});

describe('usage flags and loom costs', () => {
  it('--usage on done, heartbeat and fail goes to the API; a Claude Code result is read as its usage', async () => {
    const lease = { project_id: 'proj-1', task_id: 'loom-0000000a', agent_id: 'w', lease_token: 't' };
    const args = ['loom-0000000a', '--agent', 'w', '--token', 't'];
    const done = await run(['done', ...args, '--usage', '{"input_tokens":1,"output_tokens":2,"cost_usd":0.5}']);
    expect(done.apiCalls[0]?.input).toEqual({ ...lease, usage: { input_tokens: 1, output_tokens: 2, cost_usd: 0.5 } });
    const claude = JSON.stringify({ type: 'result', total_cost_usd: 0.25, usage: { input_tokens: 3, output_tokens: 4, cache_read_input_tokens: 5 } });
    const hb = await run(['heartbeat', ...args, '--usage', claude]);
    expect(hb.apiCalls[0]?.input).toEqual({ ...lease, usage: { input_tokens: 3, output_tokens: 4, cache_read_tokens: 5, cost_usd: 0.25 } });
    const fail = await run(['fail', ...args, '--reason', 'r', '--usage', '{"input_tokens":1,"output_tokens":1}']);
    expect(fail.apiCalls[0]?.input).toMatchObject({ usage: { input_tokens: 1, output_tokens: 1 } });
    const broken = await run(['done', ...args, '--usage', 'not json']);
    expect(broken.code).toBe(1);
    expect(broken.apiCalls).toEqual([]);
  });

  it('loom costs passes --by, an age as --since, and --limit; prints dollars to the micro-dollar', async () => {
    const report = {
      by: 'agent' as const,
      since: iso(-86_400_000),
      total: { input_tokens: 10, output_tokens: 2, cache_read_tokens: 0, cost_micros: 1_234_567, cost_usd: 1.234567, reports: 2 },
      groups: [{ key: 'w-1', input_tokens: 10, output_tokens: 2, cache_read_tokens: 0, cost_micros: 1_234_567, cost_usd: 1.234567, reports: 2 }],
    };
    const r = await run(['costs', '--by', 'agent', '--since', '1d', '--limit', '5'], { api: { costs: async () => report } });
    expect(r.code).toBe(0);
    const input = r.apiCalls[0]?.input as { since: string };
    expect(r.apiCalls[0]?.input).toMatchObject({ project_id: 'proj-1', by: 'agent', limit: 5 });
    expect(Math.abs(Date.now() - 86_400_000 - Date.parse(input.since))).toBeLessThan(60_000);
    expect(r.stdout).toContain('$1.234567');
    expect(r.stdout).toMatch(/w-1\s+\$1\.234567/);
    const bad = await run(['costs', '--by', 'week']);
    expect(bad.code).toBe(1);
    expect(bad.apiCalls).toEqual([]);
  });
});

describe('registering only the commands a command line could match', () => {
  // Every path of every command, its help, and command lines clipanion refuses: the CLI built for
  // the command line answers each exactly as the CLI with every command does.
  const paths = COMMANDS.flatMap((c) => c.paths ?? []);
  const lines: string[][] = [
    ...paths.flatMap((p) => [p, [...p, '-h'], [...p, '--bogus']]),
    [],
    ['-h'],
    ['--help'],
    ['--version'],
    ['help'],
    ['creat', 'x'],
    ['ready', '--limit'],
    ['ready', '--limit', 'many'],
    ['done'],
    ['project'],
    ['project', 'bogus'],
    ['daemon'],
    ['task', 'show'],
    ['--json', 'ready'],
    ['help', 'ready'],
    ['help', 'project', 'list'],
    ['help', 'nothing'],
    ['completion', 'bash'],
    ['__complete', 'pro'],
    ['__complete', 'ready', '--'],
  ];

  /** What a CLI makes of a command line: the command and its values, or the error printed; help and version as printed. */
  async function answer(cli: ReturnType<typeof buildCli>, argv: string[]): Promise<unknown> {
    const context = {} as LoomCliContext;
    let command: Command<LoomCliContext>;
    try {
      command = cli.process(argv, context);
    } catch (e) {
      return { error: cli.error(e, { colored: false }) };
    }
    const introspects = argv[0] === 'help' || argv[0] === 'completion' || argv[0] === '__complete';
    if (introspects || command.help || argv.length === 0 || argv.some((a) => a === '-h' || a === '--help' || a === '--version')) {
      const r = await run(argv, { cli });
      return { code: r.code, stdout: r.stdout, stderr: r.stderr, calls: r.calls };
    }
    const values = Object.entries(command).filter(([k]) => k !== 'cli' && k !== 'context');
    return { command: command.constructor, path: command.path, values };
  }

  it('answers every command line as the whole CLI does', async () => {
    expect(paths.length).toBeGreaterThan(50);
    for (const argv of lines) {
      const whole = await answer(buildCli('9.9.9', { enableColors: false }), argv);
      const loaded = await answer(await loadCli('9.9.9', { enableColors: false, argv }), argv);
      expect({ argv, loaded }).toEqual({ argv, loaded: whole });
    }
  });

  it('loads on demand, for each first word, exactly the commands of that word, in the order of COMMANDS', async () => {
    const words = new Set(COMMANDS.flatMap((c) => (c.paths ?? []).map((p) => p[0]!)));
    for (const introspecting of ['help', 'completion', '__complete']) words.delete(introspecting);
    expect([...COMMAND_LOADERS.keys()].sort()).toEqual([...words].sort());
    for (const [word, load] of COMMAND_LOADERS) {
      const loaded = await load();
      const want = COMMANDS.filter((c) => (c.paths ?? []).some((p) => p[0] === word));
      expect({ word, loaded: loaded.map((c) => c.name) }).toEqual({ word, loaded: want.map((c) => c.name) });
      loaded.forEach((c, i) => expect(c).toBe(want[i]));
    }
  });

  it('registers the commands of the first word, and all of them for anything else', async () => {
    const registered = async (argv: string[]) => (await loadCli('9.9.9', { enableColors: false, argv })).definitions().map((d) => d.path);
    expect(await registered(['ready'])).toEqual(['loom ready']);
    expect(await registered(['project', 'list'])).toEqual(['loom project list', 'loom project remove']);
    const all = buildCli('9.9.9', { enableColors: false }).definitions().map((d) => d.path);
    expect(all.length).toBeGreaterThan(60);
    for (const argv of [['creat'], ['--help'], [], ['help'], ['__proto__'], ['constructor']]) expect(await registered(argv)).toEqual(all);
  });
});

describe('a command line whose first word names no command', () => {
  it('names the commands spelled like it, not all 70, and points to loom help', async () => {
    const typo = await run(['redy']);
    expect(typo.code).toBe(2);
    expect(typo.stdout).toBe('');
    expect(typo.stderr).toBe('Unknown Syntax Error: no command "redy". Did you mean `loom ready`?\n\nRun `loom help` to see every command, `loom help COMMAND` for one.\n');
    expect(typo.calls).toEqual([]);
    expect((await run(['projct', 'list'])).stderr).toContain('Did you mean `loom project`?');
    expect((await run(['pl'])).stderr).toContain('Did you mean `loom plugins`?'); // a prefix
    expect((await run(['escal'])).stderr).toContain('Did you mean `loom escalate` or `loom escalations`?');
    expect((await run(['escalte'])).stderr).toContain('Did you mean `loom escalate`?');
    const help = await run(['help', 'redy']);
    expect(help.code).toBe(2);
    expect(help.stderr).toContain('no command "redy". Did you mean `loom ready`?');
    const none = await run(['zzzzzz']);
    expect(none.stderr).toBe('Unknown Syntax Error: no command "zzzzzz".\n\nRun `loom help` to see every command, `loom help COMMAND` for one.\n');
    // What is typed is quoted, cut short: never a terminal escape or a screenful.
    expect((await run(['\u001b[31m' + 'x'.repeat(500)])).stderr).toMatch(/^Unknown Syntax Error: no command "\\u001b\[31mx{35}"\.\n/);
  });

  it('leaves a known command with something wrong after it to clipanion', async () => {
    const bad = await run(['ready', '--bogus']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('Unsupported option name ("--bogus")');
  });
});
