import 'reflect-metadata';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { openPglitePool } from '../../src/adapters/embedded/pglite-pool.js';
import { createLoomMcpServer } from '../../src/adapters/mcp/loom-mcp-server.js';
import { hideForeignLeases, okResult } from '../../src/adapters/mcp/present.js';
import { migrate } from '../../src/adapters/postgres/migrator.js';
import { serviceForPool } from '../../src/app/service-factory.js';
import { realisticContext } from './fixture.js';

/**
 * bench/mcp-tokens: how much of an agent's context one loom_ready result
 * takes. 20 ready tasks with ~1 KB contexts each, in-process (PGlite in
 * memory, the real MCP server and an SDK Client over InMemoryTransport).
 * `before` is the result as loom_ready built it until list tools returned
 * summaries (every full task, as text and again as structuredContent),
 * computed from the same rows; `after` is what the tool returns now.
 * Tokens are estimated as characters / 4. Prints one JSON document.
 *
 *   npm run bench:mcp-tokens
 */
const TASKS = 20;
const tokens = (chars: number): number => Math.round(chars / 4);

interface Size {
  text_chars: number;
  result_chars: number;
  est_tokens: number;
}

const sizeOf = (result: { content: unknown; structuredContent?: unknown }): Size => {
  const text = (result.content as Array<{ text: string }>)[0]!.text;
  const whole = JSON.stringify({ content: result.content, structuredContent: result.structuredContent });
  return { text_chars: text.length, result_chars: whole.length, est_tokens: tokens(whole.length) };
};

async function main(): Promise<void> {
  const pglite = await openPglitePool(undefined);
  await migrate(pglite.pool);
  const { service, bus } = serviceForPool(pglite.pool, { ownsPool: false });
  try {
    const project = await service.createProject({ name: 'bench-mcp-tokens' });
    let contextChars = 0;
    for (let i = 0; i < TASKS; i++) {
      const context = realisticContext(i);
      contextChars += JSON.stringify(context).length;
      await service.createTask({
        project_id: project.id,
        title: `Export invoices as CSV, part ${i}`,
        origin: { kind: 'agent', id: 'bench' },
        context,
        priority: i % 3 === 0 ? 'p0' : 'p1',
        done_when: 'the export tests pass and the button is in the filter bar',
      });
    }

    const before = okResult({ tasks: hideForeignLeases(await service.ready({ project_id: project.id, limit: TASKS }), () => undefined) as unknown[] });

    const mcp = createLoomMcpServer({
      api: service,
      events: { subscribe: (p, h) => bus.subscribe(p, h) },
      project: { project_dir: '/nonexistent', project_id: project.id, mode: 'embedded' },
      version: 'bench',
    });
    const client = new Client({ name: 'bench', version: '1' });
    const [c, s] = InMemoryTransport.createLinkedPair();
    await mcp.server.connect(s);
    await client.connect(c);
    const after = await client.callTool({ name: 'loom_ready', arguments: { limit: TASKS } });
    if ((after.structuredContent as { tasks: unknown[] }).tasks.length !== TASKS) throw new Error('loom_ready did not list every task');
    await client.close();
    await mcp.close();

    const b = sizeOf(before);
    const a = sizeOf(after as { content: unknown; structuredContent?: unknown });
    const out = {
      bench: 'mcp-tokens',
      tool: 'loom_ready',
      tasks: TASKS,
      avg_context_chars: Math.round(contextChars / TASKS),
      before: b,
      after: a,
      reduction: Math.round((1 - a.result_chars / b.result_chars) * 1000) / 1000,
      note: 'result_chars: the CallToolResult as JSON (text content and structuredContent); est_tokens = result_chars / 4',
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } finally {
    await service.close();
    await pglite.close();
  }
}

await main();
