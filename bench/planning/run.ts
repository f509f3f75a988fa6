import 'reflect-metadata';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openPglitePool } from '../../src/adapters/embedded/pglite-pool.js';
import { migrate } from '../../src/adapters/postgres/migrator.js';
import { SERVER_MODE, serviceForPool, type ServiceOptions } from '../../src/app/service-factory.js';
import type { LoomService } from '../../src/app/loom-service.js';
import { skillSkeleton } from '../../src/app/skills/skill-skeleton.js';
import type { JsonObject } from '../../src/domain/task.js';
import type { DecomposeApplied, DecomposeDryRun, WorkflowRunResult } from '../../src/ports/loom-api.js';
import { benchDatabase } from '../support/database.js';
import { cli, mcpClient, type Env } from '../support/loom-process.js';
import { percentile, round } from '../support/stats.js';

/**
 * bench/planning: what planning costs. Prints one JSON document with
 * - decompose: the dry run and then the apply (`apply: true`, timed on its
 *   own) of wired plans of 100, 500 and 2,000 tasks (~2 edges per task),
 *   each run in a fresh project, on Postgres (a fresh database) and on the
 *   embedded PGlite (in memory, in-process); target: 500 tasks applied in
 *   under 1 s on each;
 * - workflow: runWorkflow of the builtin change_each_module with 1,000
 *   modules (a for_each fan-out between a step before and one after: 1,002
 *   tasks and the epic), the dry run and the start timed apart, each start in
 *   a fresh project, after a warm-up; target: started in under 1 s on each;
 * - render: renderSkill of the builtin write_task_context for a task with 3
 *   done upstream tasks that have outputs (the hand-off is rendered, the run
 *   recorded), p50/p95, with the builtin skills only and with 50 project
 *   skills in the project directory too; target p50 < 5 ms;
 * - mcp_cold_start: the built `loom mcp` in a fresh `loom init` project with
 *   50 project skills in .loom/skills, spawn to the answered prompts/list
 *   (initialize included), daemon running and stopped; target 1.5 s (as bench/mcp).
 *
 *   npm run bench:planning [-- --quick] [-- --skip-mcp | --mcp-only | --workflow-only]
 */
const quick = process.argv.includes('--quick');
const workflowOnly = process.argv.includes('--workflow-only');
const SIZES: Array<{ tasks: number; runs: number }> = quick
  ? [
      { tasks: 100, runs: 2 },
      { tasks: 500, runs: 2 },
      { tasks: 2_000, runs: 1 },
    ]
  : [
      { tasks: 100, runs: 5 },
      { tasks: 500, runs: 5 },
      { tasks: 2_000, runs: 3 },
    ];
const RENDERS = quick ? 100 : 400;
const RENDER_WARMUP = 20;
const PROJECT_SKILLS = 50;
const COLD_RUNS = 5;
const WORKFLOW_ITEMS = 1_000;
const WORKFLOW_RUNS = quick ? 2 : 5;
const TARGETS = { apply_500_ms: 1_000, workflow_1000_ms: 1_000, render_p50_ms: 5, mcp_cold_start_ms: 1_500 };
const ORIGIN = { kind: 'bench', id: 'planning' };

/**
 * A wired plan of n tasks (as tests/integration/decompose.test.ts's
 * layeredPlan): a spec, n-2 parts that each need the spec and the part two
 * before, and a review of the last two parts; ~2 edges per task.
 */
function layeredPlan(n: number, title: string): JsonObject {
  const tasks: JsonObject[] = [{ key: 'spec', title: 'Write the spec', done_when: 'spec.md exists', priority: 'p0' }];
  for (let i = 1; i < n - 1; i++) {
    const deps = ['spec'];
    if (i > 2) deps.push(`part-${i - 2}`);
    tasks.push({ key: `part-${i}`, title: `Build part ${i}`, done_when: `part ${i} tests pass`, depends_on: deps });
  }
  tasks.push({ key: 'review', title: 'Review everything', done_when: 'approved', depends_on: tasks.slice(1).map((t) => t.key as string).slice(-2) });
  return { title, tasks };
}

const stat = (xs: number[]) => ({ p50_ms: round(percentile(xs, 50), 1), max_ms: round(Math.max(...xs), 1), runs_ms: xs.map((x) => round(x, 1)) });

async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; result: T }> {
  const t0 = performance.now();
  const result = await fn();
  return { ms: performance.now() - t0, result };
}

/** Dry run then apply of each plan size, each run in a fresh project of its own. */
async function decomposeFigures(api: LoomService): Promise<Record<string, unknown>> {
  let projects = 0;
  const once = async (n: number) => {
    const p = (await api.createProject({ name: `planning ${++projects}` })).id;
    const plan = layeredPlan(n, `Plan of ${n}`);
    const dry = await timed(async () => (await api.decompose({ project_id: p, goal: `build ${n}`, plan })) as DecomposeDryRun);
    if (dry.result.stage !== 'dry_run') throw new Error(`expected a dry run, got ${dry.result.stage}`);
    const applied = await timed(
      async () => (await api.decompose({ project_id: p, goal: `build ${n}`, plan, apply: true, plan_hash: dry.result.plan_hash })) as DecomposeApplied,
    );
    if (applied.result.stage !== 'applied' || !applied.result.created || applied.result.counts.tasks !== n) {
      throw new Error(`apply of ${n} did not write the plan: ${JSON.stringify(applied.result.counts)}`);
    }
    return { dry_ms: dry.ms, apply_ms: applied.ms, edges: applied.result.counts.edges };
  };
  await once(100); // warm: statement plans, the JIT, the plan-schema validator
  const out: Record<string, unknown> = {};
  for (const { tasks, runs } of SIZES) {
    const dry: number[] = [];
    const apply: number[] = [];
    let edges = 0;
    for (let i = 0; i < runs; i++) {
      const r = await once(tasks);
      dry.push(r.dry_ms);
      apply.push(r.apply_ms);
      edges = r.edges;
    }
    const a = stat(apply);
    out[String(tasks)] = {
      tasks,
      edges,
      dry_run: stat(dry),
      apply: a,
      ...(tasks === 500 ? { target_ms: TARGETS.apply_500_ms, met: a.p50_ms < TARGETS.apply_500_ms, every_run_under_target: a.max_ms < TARGETS.apply_500_ms } : {}),
    };
  }
  return out;
}

/**
 * runWorkflow of change_each_module over `items` modules: the dry run, then the
 * start (timed on its own), in a fresh project each time.
 */
async function workflowFigures(api: LoomService): Promise<Record<string, unknown>> {
  let projects = 0;
  const once = async (items: number) => {
    const p = (await api.createProject({ name: `workflow ${++projects}` })).id;
    const inputs = { change: 'replace the logger with pino', modules: Array.from({ length: items }, (_, i) => `packages/module-${String(i).padStart(4, '0')}`) };
    const dry = await timed(async () => (await api.runWorkflow({ project_id: p, name: 'change_each_module', inputs, dry_run: true })) as WorkflowRunResult & { stage: 'dry_run' });
    if (dry.result.stage !== 'dry_run' || dry.result.tasks.length !== items + 2) throw new Error(`dry run of ${items}: ${dry.result.stage}, ${dry.result.tasks?.length} tasks`);
    const started = await timed(async () => (await api.runWorkflow({ project_id: p, name: 'change_each_module', inputs })) as WorkflowRunResult & { stage: 'started' });
    if (started.result.stage !== 'started' || !started.result.created || Object.keys(started.result.tasks).length !== items + 2) {
      throw new Error(`run of ${items} did not write the tasks: ${started.result.stage}`);
    }
    return { dry_ms: dry.ms, run_ms: started.ms, tasks: Object.keys(started.result.tasks).length, edges: dry.result.edges.length };
  };
  await once(100); // warm: statement plans, the JIT, the workflow file and its templates
  const dry: number[] = [];
  const run: number[] = [];
  let tasks = 0;
  let edges = 0;
  for (let i = 0; i < WORKFLOW_RUNS; i++) {
    const r = await once(WORKFLOW_ITEMS);
    dry.push(r.dry_ms);
    run.push(r.run_ms);
    tasks = r.tasks;
    edges = r.edges;
  }
  const r = stat(run);
  return {
    workflow: 'change_each_module (builtin): approach -> module x for_each inputs.modules -> integrate',
    for_each_items: WORKFLOW_ITEMS,
    tasks,
    edges,
    dry_run: stat(dry),
    run: r,
    target_ms: TARGETS.workflow_1000_ms,
    met: r.p50_ms < TARGETS.workflow_1000_ms,
    every_run_under_target: r.max_ms < TARGETS.workflow_1000_ms,
  };
}

/** renderSkill of write_task_context for a task behind 3 done tasks with outputs. */
async function renderFigures(api: LoomService, label: string): Promise<Record<string, unknown>> {
  const p = (await api.createProject({ name: `render ${label}` })).id;
  const upstream: string[] = [];
  for (let i = 1; i <= 3; i++) {
    const t = await api.createTask({ project_id: p, title: `Upstream ${i}`, origin: ORIGIN, done_when: `part ${i} merged` });
    const c = await api.claim({ project_id: p, agent_id: 'bench', task_id: t.id });
    if (!c.claimed) throw new Error(`could not claim ${t.id}`);
    const output = { summary: `upstream ${i} done`, files: [`src/part${i}.ts`, `src/part${i}.test.ts`], interface: `part${i}(x: string): Promise<number>`, marker: `handoff-${i}` };
    await api.done({ project_id: p, agent_id: 'bench', task_id: t.id, lease_token: c.lease.token, output });
    upstream.push(t.id);
  }
  const task = await api.createTask({
    project_id: p,
    title: 'Downstream',
    origin: ORIGIN,
    depends_on: upstream,
    done_when: 'tests pass',
    context: { tags: ['api'], notes: 'uses all three parts' },
  });
  const render = async () => {
    const r = await api.renderSkill({ project_id: p, name: 'write_task_context', task_id: task.id, agent_id: 'bench' });
    if (r.run_id === undefined || !r.text.includes('handoff-3')) throw new Error('the render did not record a run or lacks the hand-off');
  };
  for (let i = 0; i < RENDER_WARMUP; i++) await render();
  const samples: number[] = [];
  for (let i = 0; i < RENDERS; i++) samples.push((await timed(render)).ms);
  const p50 = round(percentile(samples, 50), 3);
  return {
    skill: 'write_task_context',
    renders: RENDERS,
    p50_ms: p50,
    p95_ms: round(percentile(samples, 95), 3),
    max_ms: round(Math.max(...samples), 3),
    target_p50_ms: TARGETS.render_p50_ms,
    met: p50 < TARGETS.render_p50_ms,
  };
}

/** Writes `n` valid project skills (loom skills new's skeleton) to dir/.loom/skills. */
function writeProjectSkills(dir: string, n: number): void {
  const skillsDir = join(dir, '.loom', 'skills');
  mkdirSync(skillsDir, { recursive: true });
  for (let i = 0; i < n; i++) {
    const name = `bench_skill_${String(i).padStart(2, '0')}`;
    writeFileSync(join(skillsDir, `${name}.md`), skillSkeleton(name).replace('One line saying what this skill is for', `Bench skill ${i}, one line saying what it is for`));
  }
}

/**
 * Everything measured on one store. `open(projectDir)` composes a service over
 * it: skills from the builtin folder only (null), or from a project directory too
 * (as the daemon and server-mode processes run: every render lists its skill folders).
 */
async function measure(open: (projectDir: string | null) => LoomService): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const api = open(null);
  const dir = mkdtempSync(join(tmpdir(), 'loom-bench-planning-skills-'));
  try {
    if (workflowOnly) {
      out.workflow = await workflowFigures(api);
      return out;
    }
    out.decompose = await decomposeFigures(api);
    out.workflow = await workflowFigures(api);
    out.render = await renderFigures(api, 'builtin');
    writeProjectSkills(dir, PROJECT_SKILLS);
    const withSkills = open(dir);
    try {
      out.render_with_50_project_skills = await renderFigures(withSkills, 'project skills');
    } finally {
      await withSkills.close();
    }
  } finally {
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

async function serverMode(): Promise<Record<string, unknown>> {
  const db = await benchDatabase('planning');
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });
  pool.on('error', () => {}); // an idle connection dropped: the next query reconnects
  try {
    await migrate(pool);
    const options = (projectDir: string | null): ServiceOptions => ({ ...SERVER_MODE, ownsPool: false, skills: { projectDir } });
    return { via: 'LoomService in-process on Postgres (a fresh database)', ...(await measure((dir) => serviceForPool(pool, options(dir)).service)) };
  } finally {
    await pool.end();
    await db.drop();
  }
}

async function embeddedMode(): Promise<Record<string, unknown>> {
  const lite = await openPglitePool(undefined);
  try {
    await migrate(lite.pool);
    return {
      via: 'LoomService in-process on PGlite in memory',
      ...(await measure((projectDir) => serviceForPool(lite.pool, { ownsPool: false, skills: { projectDir } }).service)),
    };
  } finally {
    await lite.close();
  }
}

// ---- loom mcp cold start with 50 project skills (measured as bench/mcp does) ----

/** Spawn to the answered prompts/list, ms (initialize on the way); `before` runs untimed ahead of each start. */
async function coldStart(cwd: string, env: Env, expectPrompts: number, before: () => Promise<unknown>) {
  const runs: number[] = [];
  const initialized: number[] = [];
  for (let i = 0; i < COLD_RUNS; i++) {
    await before();
    const t0 = performance.now();
    const { client, transport, stderr } = mcpClient(cwd, env, 'bench-planning');
    try {
      await client.connect(transport);
      initialized.push(performance.now() - t0);
      const { prompts } = await client.listPrompts();
      runs.push(performance.now() - t0);
      if (prompts.length < expectPrompts) throw new Error(`prompts/list gave ${prompts.length} prompts, expected at least ${expectPrompts}\n${stderr()}`);
    } finally {
      await client.close();
    }
  }
  const p50 = round(percentile(runs, 50), 1);
  return {
    p50_ms: p50,
    max_ms: round(Math.max(...runs), 1),
    runs_ms: runs.map((x) => round(x, 1)),
    initialize_p50_ms: round(percentile(initialized, 50), 1),
    target_ms: TARGETS.mcp_cold_start_ms,
    met: p50 <= TARGETS.mcp_cold_start_ms,
  };
}

async function mcpColdStart(): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'loom-bench-planning-'));
  const env = { LOOM_DAEMON_IDLE_SECONDS: '120' };
  try {
    await cli(dir, ['init', '--name', 'bench-planning', '--json'], env);
    const builtins = (JSON.parse(await cli(dir, ['skills', '--json'], env)) as { skills: unknown[] }).skills.length;
    // For comparison: the same project before the skill files exist.
    const withoutRunning = await coldStart(dir, env, builtins, () => cli(dir, ['ready', '--json'], env));
    const withoutStopped = await coldStart(dir, env, builtins, () => cli(dir, ['daemon', 'stop'], env));
    writeProjectSkills(dir, PROJECT_SKILLS);
    const listed = JSON.parse(await cli(dir, ['skills', '--json'], env)) as { skills: unknown[]; problems: unknown[] };
    if (listed.problems.length > 0 || listed.skills.length !== builtins + PROJECT_SKILLS) {
      throw new Error(`the generated skills do not all load: ${listed.skills.length} skills, problems ${JSON.stringify(listed.problems.slice(0, 3))}`);
    }
    const expect = builtins + PROJECT_SKILLS;
    const running = await coldStart(dir, env, expect, () => cli(dir, ['ready', '--json'], env));
    const stopped = await coldStart(dir, env, expect, () => cli(dir, ['daemon', 'stop'], env));
    return {
      via: 'loom mcp (built) over stdio in a fresh embedded `loom init` project; spawn to the answered prompts/list',
      project_skills: PROJECT_SKILLS,
      prompts_listed: expect,
      with_project_skills: { daemon_running: running, daemon_stopped: stopped },
      without_project_skills: { daemon_running: withoutRunning, daemon_stopped: withoutStopped },
    };
  } finally {
    await cli(dir, ['daemon', 'stop'], env).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

const result: Record<string, unknown> = {
  bench: 'planning',
  quick,
  cores: cpus().length,
  loadavg_1m_at_start: round(loadavg()[0] ?? 0, 2),
  node: process.version,
  targets: {
    decompose_apply_500_tasks_ms: TARGETS.apply_500_ms,
    workflow_run_1000_for_each_ms: TARGETS.workflow_1000_ms,
    render_p50_ms: TARGETS.render_p50_ms,
    mcp_cold_start_50_skills_ms: TARGETS.mcp_cold_start_ms,
    note: 'met is read on the p50 (as bench/mcp does); every_run_under_target says whether the max is under it too',
  },
};
if (!process.argv.includes('--mcp-only')) {
  result.server = await serverMode();
  result.embedded = await embeddedMode();
}
if (!process.argv.includes('--skip-mcp') && !workflowOnly) result.mcp_cold_start = await mcpColdStart();
result.loadavg_1m_at_end = round(loadavg()[0] ?? 0, 2);
const out = JSON.stringify(result, null, 2);
process.stdout.write(`${out}\n`);
if (process.env.LOOM_BENCH_OUT) writeFileSync(process.env.LOOM_BENCH_OUT, out);
