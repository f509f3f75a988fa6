import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { chromiumAvailable, launchChromium } from '../../tests/support/chromium.js';
import { benchDatabase } from '../support/database.js';
import { baseEnv, cli, LOOM_BIN, type Env } from '../support/loom-process.js';
import { bulkLoadTasks } from '../support/seed.js';
import { percentile, round } from '../support/stats.js';

/**
 * bench/dashboard: the dashboard with N tasks (default 5,000: the most a
 * picture draws) in Debian's chromium at 1366x768, server mode on Postgres
 * (with Redis when LOOM_REDIS_URL or the local one answers, so events are
 * pushed). Prints one JSON document:
 * - server: the state and the drawn graph as the API answers them (the first
 *   SVG waits for the layout started when the dashboard starts; later ones
 *   come from the cache until the graph changes);
 * - first_render: from navigation to the panels filled (state_ms) and to the
 *   graph drawn and coloured (graph_ms), for a first page and a second one;
 * - done_to_node: `loom done` through the CLI until the task's node turns
 *   done on the page, counted from the moment the command exits (its commit
 *   is visible) and from the moment it was started (a CLI process start
 *   included), p50 and max over ROUNDS.
 *
 *   npm run bench:dashboard [-- --tasks N]
 */
const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
};
const N = Number(arg('--tasks') ?? 5000);
const ROUNDS = 8;
const REDIS = process.env.LOOM_REDIS_URL ?? 'redis://127.0.0.1:6379';

function run(cwd: string, args: string[], env: Env): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [LOOM_BIN, ...args], { cwd, env: baseEnv(env), timeout: 120_000 }, (error, stdout, stderr) =>
      resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout: stdout + stderr }),
    );
  });
}

async function main(): Promise<void> {
  if (!chromiumAvailable()) throw new Error('no chromium (apt-get install -y chromium, or LOOM_TEST_CHROMIUM)');
  const db = await benchDatabase('dashboard');
  const dir = mkdtempSync(join(tmpdir(), 'loom-bench-dash-'));
  const env: Env = { LOOM_DATABASE_URL: db.url, LOOM_REDIS_URL: REDIS, LOOM_REDIS_PREFIX: `bench-dash-${process.pid}:` };
  const pool = new pg.Pool({ connectionString: db.url, max: 2 });
  let dash: ReturnType<typeof spawn> | undefined;
  const browser = await launchChromium();
  try {
    const project = JSON.parse(await cli(dir, ['init', '--name', 'bench-dashboard', '--json'], env)).project.id as string;
    await bulkLoadTasks(pool, project, N);
    // Chains of ten, so Graphviz lays out a graph, not a grid of loose boxes.
    await pool.query(
      `INSERT INTO task_deps (task_id, depends_on)
       SELECT 'loom-' || lpad(to_hex(g), 8, '0'), 'loom-' || lpad(to_hex(g - 1), 8, '0') FROM generate_series(2, $1::int) g WHERE g % 10 <> 1`,
      [N],
    );
    await pool.query(
      `UPDATE tasks t SET unmet_deps = (SELECT count(*) FROM task_deps d JOIN tasks x ON x.id = d.depends_on WHERE d.task_id = t.id AND x.status <> 'done') WHERE t.project_id = $1`,
      [project],
    );
    await pool.query(`INSERT INTO events (project_id, type, task_id, payload, at) SELECT $1, 'task.created', id, '{}', created_at FROM tasks WHERE project_id = $1`, [project]);
    // Tasks to complete: the heads of chains that are pending (g = 1 mod 30), claimed just before each round (a lease lasts 5 min).
    const targets = Array.from({ length: ROUNDS }, (_, k) => ({ id: `loom-${(1 + 30 * k).toString(16).padStart(8, '0')}`, lease: '' }));

    dash = spawn(process.execPath, [LOOM_BIN, 'dashboard', '--no-open', '--json'], { cwd: dir, env: baseEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    dash.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    const deadline = Date.now() + 120_000;
    let url = '';
    while (url === '') {
      try {
        url = JSON.parse(out).url;
      } catch {
        if (Date.now() > deadline) throw new Error(`loom dashboard did not start: ${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }

    // The server's share: the state and the drawn graph read with a signed-in cookie (after the start-up layout).
    const signIn = await fetch(url, { redirect: 'manual' });
    const cookie = signIn.headers.get('set-cookie')!.split(';')[0]!;
    const origin = new URL(url).origin;
    const timedGet = async (path: string): Promise<{ ms: number; bytes: number }> => {
      const t0 = Date.now();
      const body = await (await fetch(`${origin}${path}`, { headers: { cookie } })).text();
      return { ms: Date.now() - t0, bytes: Buffer.byteLength(body) };
    };
    const svgFirst = await timedGet('/dashboard/api/graph.svg');
    const api_ms = { svg_first: svgFirst, state: await timedGet('/dashboard/api/state'), svg_cached: await timedGet('/dashboard/api/graph.svg') };
    console.error(`api: ${JSON.stringify(api_ms)}`);

    const context = await browser.newContext({ viewport: { width: 1366, height: 768 } });
    const page = await context.newPage();
    const load = async (): Promise<{ state_ms: number; graph_ms: number; timeline: Record<string, unknown> }> => {
      const t0 = Date.now();
      await page.goto(url);
      await page.waitForSelector('body[data-state="ready"]', { timeout: 120_000 });
      const state_ms = Date.now() - t0;
      await page.waitForSelector('body[data-graph="ready"]', { timeout: 120_000 });
      const graph_ms = Date.now() - t0;
      await page.waitForFunction(() => performance.getEntriesByName('loom:graph-painted').length > 0, undefined, { timeout: 60_000 });
      // Where the time went, from the page's own clock (ms since its navigation started): the page, then each API answer.
      const timeline = (await page.evaluate(`(() => {
        const r = (x) => Math.round(x);
        const out = { since_goto: r(performance.timeOrigin) - ${t0}, page: r(performance.getEntriesByType('navigation')[0].responseEnd) };
        // The first of each: later refreshes (events of the backlog) mark and fetch again.
        for (const m of performance.getEntriesByType('mark')) if (m.name.startsWith('loom:') && !(m.name.slice(5) in out)) out[m.name.slice(5)] = r(m.startTime);
        for (const e of performance.getEntriesByType('resource')) {
          const name = e.name.includes('/api/state') ? 'state' : e.name.includes('graph.svg') ? 'svg' : e.name.includes('app.js') ? 'app_js' : null;
          if (name && !(name in out)) out[name] = [r(e.startTime), r(e.responseEnd)];
        }
        return out;
      })()`)) as Record<string, unknown>;
      return { state_ms, graph_ms, timeline };
    };
    const cold = await load();
    console.error(`cold: ${JSON.stringify(cold)}`);
    const warm = await load();
    console.error(`warm: ${JSON.stringify(warm)}`);
    const nodes = await page.locator('#graph-stage g.node').count();

    const fromExit: number[] = [];
    const fromStart: number[] = [];
    for (const t of targets) {
      t.lease = JSON.parse(await cli(dir, ['claim', t.id, '--agent', 'bench', '--json'], env)).task.lease_token;
      await page.waitForSelector(`g.node[id="${t.id}"][data-status="claimed"]`, { state: 'attached', timeout: 60_000 }).catch(async (e: unknown) => {
        console.error('live:', await page.textContent('#live'), 'events:', (await page.textContent('#event-list'))?.slice(0, 400), 'node:', await page.evaluate(`document.getElementById(${JSON.stringify(t.id)})?.outerHTML.slice(0, 300)`));
        throw e;
      });
      // Records when the node turns done (in the page: no DOM types in this file).
      await page.evaluate(`(() => {
        delete window.seenDone;
        const g = document.getElementById(${JSON.stringify(t.id)});
        new MutationObserver((_m, obs) => {
          if (g.getAttribute('data-status') === 'done') { window.seenDone = Date.now(); obs.disconnect(); }
        }).observe(g, { attributes: true, attributeFilter: ['data-status'] });
      })()`);
      const started = Date.now();
      const r = await run(dir, ['done', t.id, '--agent', 'bench', '--token', t.lease], env);
      const exited = Date.now();
      if (r.code !== 0) throw new Error(`loom done ${t.id} exited ${r.code}: ${r.stdout}`);
      await page.waitForFunction(() => (globalThis as { seenDone?: number }).seenDone !== undefined, undefined, { timeout: 60_000 });
      const seen = (await page.evaluate('window.seenDone')) as number;
      fromExit.push(Math.max(0, seen - exited));
      fromStart.push(seen - started);
    }
    await context.close();
    console.log(
      JSON.stringify(
        {
          bench: 'dashboard',
          tasks: N,
          nodes_drawn: nodes,
          mode: 'server (Postgres + Redis)',
          viewport: '1366x768',
          server: api_ms,
          first_render: { first_page: cold, second_page: warm },
          done_to_node_ms: {
            rounds: ROUNDS,
            from_cli_exit: { p50: round(percentile(fromExit, 50)), max: Math.max(...fromExit) },
            from_cli_start: { p50: round(percentile(fromStart, 50)), max: Math.max(...fromStart) },
          },
        },
        null,
        2,
      ),
    );
  } finally {
    await browser.close();
    if (dash !== undefined && dash.exitCode === null) {
      dash.kill('SIGTERM');
      await new Promise((r) => dash!.once('exit', r));
    }
    await pool.end();
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
