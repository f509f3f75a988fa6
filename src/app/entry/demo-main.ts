import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { LoomConnector } from '../../ports/loom-connector.js';

type ToolResult = { isError?: boolean; structuredContent?: Record<string, unknown>; content?: Array<{ type: string; text?: string }> };

/**
 * `loom demo`: a first look at Loom on the embedded default. A planner
 * session lays out an epic with dependent steps; three agents, each a real
 * MCP client of its own `loom mcp` process, claim, heartbeat, message and
 * complete them concurrently in dependency order, hearing each other's
 * changes as notifications.
 */
export async function runDemo(
  connector: LoomConnector,
  o: { dir?: string; loomBin: string; env: NodeJS.ProcessEnv; out: (line: string) => void },
): Promise<{ complete: boolean; dir: string }> {
  const dir = resolve(o.dir ?? mkdtempSync(join(tmpdir(), 'loom-demo-')));
  const env = { ...o.env, LOOM_DATABASE_URL: '' } as Record<string, string>;
  const started = Date.now();
  const log = (who: string, line: string) => o.out(`${((Date.now() - started) / 1000).toFixed(1).padStart(5)}s  ${who.padEnd(8)} ${line}`);

  log('demo', `project directory ${dir} (embedded mode)`);
  const init = await connector.init({ projectDir: dir, name: 'search-feature' });
  log('demo', `${init.created ? 'created' : 'reusing'} project ${init.project.id}`);

  const sessions: Array<{ name: string; client: Client }> = [];
  const open = async (name: string): Promise<Client> => {
    const client = new Client({ name: `loom-demo-${name}`, version: '1.0.0' });
    await client.connect(new StdioClientTransport({ command: process.execPath, args: [o.loomBin, 'mcp', '--agent-id', name], cwd: dir, env, stderr: 'ignore' }));
    sessions.push({ name, client });
    return client;
  };
  const call = async (client: Client, name: string, args: Record<string, unknown> = {}): Promise<Record<string, unknown>> => {
    const r = (await client.callTool({ name, arguments: args })) as ToolResult;
    const body = r.structuredContent ?? JSON.parse(r.content?.[0]?.text ?? '{}');
    if (r.isError === true) throw new Error(`${name}: ${JSON.stringify(body)}`);
    return body as Record<string, unknown>;
  };

  try {
    const planner = await open('planner');
    const epic = ((await call(planner, 'loom_create', { title: 'Ship the search feature', epic: true })).task as { id: string }).id;
    const step = async (title: string, deps: string[] = [], priority = 'p1', done_when?: string) =>
      ((await call(planner, 'loom_create', { title, parent_id: epic, depends_on: deps, priority, ...(done_when ? { done_when } : {}) })).task as { id: string }).id;
    const spec = await step('Write the search spec', [], 'p0', 'spec reviewed by the team');
    const api = await step('Build the search API', [spec]);
    const box = await step('Build the search box', [spec], 'p2');
    const index = await step('Index existing documents', [spec]);
    const tests = await step('End-to-end tests', [api, box]);
    const docs = await step('Document the API', [api]);
    await step('Release', [tests, docs, index], 'p0', 'tagged and announced');
    const plan = (await call(planner, 'loom_graph', { format: 'waves' })).text as string;
    log('planner', 'planned an epic with 7 steps:');
    for (const line of plan.split('\n')) o.out(`          ${line}`);

    const names = ['ada', 'grace', 'linus'];
    const agents = await Promise.all(names.map(open));
    const heard = new Map<string, number>(names.map((n) => [n, 0]));
    const wake = new Map<string, () => void>();
    agents.forEach((client, i) => {
      client.fallbackNotificationHandler = async (n) => {
        if (n.method !== 'notifications/loom/task_event') return;
        heard.set(names[i]!, heard.get(names[i]!)! + 1);
        if ((n.params as { type?: string }).type === 'task.unblocked') wake.get(names[i]!)?.();
      };
    });
    log('demo', `3 agents connected over stdio (${names.join(', ')}); each runs its own \`loom mcp\``);

    const work = async (name: string, client: Client): Promise<number> => {
      let completed = 0;
      for (;;) {
        const claim = await call(client, 'loom_claim', { lease_seconds: 30 });
        if (claim.claimed !== true) {
          const overview = (await call(client, 'loom_status')) as { counts: Record<string, number> };
          const c = overview.counts;
          if ((c.pending ?? 0) + (c.blocked ?? 0) + (c.claimed ?? 0) === 0) return completed;
          // Nothing ready yet: wait to hear that something was unblocked (or look again shortly).
          await new Promise<void>((r) => {
            const timer = setTimeout(r, 1000);
            wake.set(name, () => (clearTimeout(timer), r()));
          });
          continue;
        }
        const task = claim.task as { id: string; title: string };
        log(name, `claimed  ${task.id}  ${task.title}`);
        if (completed === 0) await call(client, 'loom_message', { to: '*', message: `${name} here: I took "${task.title}"` });
        await new Promise((r) => setTimeout(r, 250 + Math.random() * 350)); // "working"
        await call(client, 'loom_heartbeat', { task_id: task.id });
        const done = (await call(client, 'loom_done', { task_id: task.id, output: { summary: `${name} finished ${task.title}` } })) as {
          unblocked: string[];
          completed_epics: string[];
        };
        completed++;
        const notes = [
          done.unblocked.length > 0 ? `unblocked ${done.unblocked.join(', ')}` : '',
          done.completed_epics.length > 0 ? `completed the epic ${done.completed_epics.join(', ')}` : '',
        ].filter(Boolean);
        log(name, `done     ${task.id}${notes.length > 0 ? `  (${notes.join('; ')})` : ''}`);
      }
    };
    const counts = await Promise.all(agents.map((c, i) => work(names[i]!, c)));
    const inbox = (await call(agents[0]!, 'loom_inbox')) as { messages?: unknown[] };

    const summary = (await call(planner, 'loom_graph', { format: 'summary' })).text as string;
    const overview = (await call(planner, 'loom_status')) as { counts: Record<string, number>; total: number };
    o.out('');
    for (const line of summary.split('\n')) o.out(`  ${line}`);
    o.out(`  done per agent: ${names.map((n, i) => `${n} ${counts[i]}`).join(', ')}`);
    o.out(`  notifications heard: ${names.map((n) => `${n} ${heard.get(n)}`).join(', ')}; ada's inbox held ${inbox.messages?.length ?? 0} message(s)`);
    o.out(`  finished in ${((Date.now() - started) / 1000).toFixed(1)} s; look around: loom status --project-dir ${dir}`);
    return { complete: overview.counts.done === overview.total, dir };
  } finally {
    await Promise.all(sessions.map((s) => s.client.close().catch(() => undefined)));
    if (o.dir === undefined) await connector.daemonStop({ projectDir: dir }).catch(() => undefined);
  }
}
