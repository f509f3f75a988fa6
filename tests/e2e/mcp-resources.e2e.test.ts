/**
 * MCP resources end to end: the built `loom mcp` over stdio (embedded, through
 * the project's daemon), two sessions. Session B subscribes to a task and to
 * the project; session A changes the task with a tool; B is told
 * notifications/resources/updated for both URIs, reads the new state, and
 * after unsubscribing hears no more.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loom, loomJson } from '../support/loom-cli.js';
import { McpProcess } from '../support/mcp-process.js';

async function waitFor(probe: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('loom mcp resources over stdio (embedded)', () => {
  let dir: string;
  const env = { LOOM_DAEMON_IDLE_SECONDS: '60' };
  const started: McpProcess[] = [];
  const updated: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'loom-mcp-res-e2e-'));
    await loomJson(dir, ['init', '--name', 'mcp-res-e2e'], env);
  });
  afterAll(async () => {
    await Promise.all(started.map((p) => p.close()));
    await loom(dir, ['daemon', 'stop'], env);
    rmSync(dir, { recursive: true, force: true });
  });

  it('subscribe, a change by another session, notifications/resources/updated, read, unsubscribe', async () => {
    const a = await McpProcess.start(dir, ['--agent-id', 'a'], env);
    started.push(a);
    const b = await McpProcess.start(dir, ['--agent-id', 'b'], env, {
      setup: (client) =>
        client.setNotificationHandler(ResourceUpdatedNotificationSchema, async (n) => {
          updated.push(n.params.uri);
        }),
    });
    started.push(b);
    expect(b.client.getServerCapabilities()?.resources).toEqual({ subscribe: true, listChanged: false });
    expect((await b.client.listResources()).resources.map((r) => r.uri)).toEqual(['loom://project']);
    // initialize is answered before the store opens: a session hears events once it has answered a call.
    await b.ok('loom_ready');

    const task = (await a.ok('loom_create', { title: 'watched', context: { file: 'src/x.ts' } })).task;
    const uri = `loom://task/${task.id}`;
    // Let the creation reach B first: the update below must come from the claim.
    await b.waitForEvent((e) => e.type === 'task.created' && e.task_id === task.id);
    await b.client.subscribeResource({ uri });
    await b.client.subscribeResource({ uri: 'loom://project' });

    expect(updated).toEqual([]);
    await a.ok('loom_claim', { task_id: task.id });
    await waitFor(() => updated.includes(uri) && updated.includes('loom://project'), `updated for ${uri} and loom://project`);
    const read = await b.client.readResource({ uri });
    expect(JSON.parse((read.contents[0] as { text: string }).text).task).toMatchObject({ id: task.id, status: 'claimed', assignee: 'a', context: { file: 'src/x.ts' } });

    const bad = await b.client.readResource({ uri: 'loom://task/../../etc' }).then(
      () => undefined,
      (e: { code?: number; message?: string }) => e,
    );
    expect(bad?.code).toBe(-32602);
    expect(bad?.message).toMatch(/loom-1a2b3c4d/);

    await b.client.unsubscribeResource({ uri });
    await b.client.unsubscribeResource({ uri: 'loom://project' });
    await new Promise((r) => setTimeout(r, 300));
    const before = updated.length;
    await a.ok('loom_done', { task_id: task.id });
    await b.waitForEvent((e) => e.type === 'task.done' && e.task_id === task.id);
    await new Promise((r) => setTimeout(r, 400));
    expect(updated.length).toBe(before);
  }, 120_000);
});
