/** MCP resources through a real SDK Client: list, templates, read, hostile URIs, subscribe/updated/unsubscribe, and the coalescing of bursts. */
import { EmptyResultSchema, McpError, ReadResourceResultSchema, ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_URI, ResourceSubscriptions, taskUri, urisOf } from '../../src/adapters/mcp/resources.js';
import type { LoomEvent } from '../../src/domain/events.js';
import { connect, newProject, openBackend, waitFor, type Backend, type Session } from './harness.js';

let b: Backend;
beforeAll(async () => {
  b = await openBackend();
});
afterAll(async () => {
  await b.close();
});

/** A session whose client records every notifications/resources/updated URI. */
async function subscriber(name: string): Promise<{ s: Session; updated: string[] }> {
  const project = await newProject(b.api, name);
  const updated: string[] = [];
  const s = await connect(b, project, {
    setupClient: (client) =>
      client.setNotificationHandler(ResourceUpdatedNotificationSchema, async (n) => {
        updated.push(n.params.uri);
      }),
  });
  return { s, updated };
}

async function refusal(p: Promise<unknown>): Promise<McpError> {
  const e = await p.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(e).toBeInstanceOf(McpError);
  return e as McpError;
}

describe('listing and reading', () => {
  it('the server declares resources with subscribe; lists loom://project and the task template', async () => {
    const { s } = await subscriber('res-list');
    expect(s.client.getServerCapabilities()?.resources).toEqual({ subscribe: true, listChanged: false });
    const list = await s.client.listResources();
    expect(list.resources).toEqual([expect.objectContaining({ uri: 'loom://project', mimeType: 'application/json' })]);
    const templates = await s.client.listResourceTemplates();
    expect(templates.resourceTemplates).toEqual([expect.objectContaining({ uriTemplate: 'loom://task/{id}', mimeType: 'application/json' })]);
    await s.close();
  });

  it('reads the project status and a task detail as JSON, as loom_status gives them', async () => {
    const { s } = await subscriber('res-read');
    const a = (await s.ok('loom_create', { title: 'a', context: { spec: 'x'.repeat(50) } })).task;
    const c = (await s.ok('loom_create', { title: 'c', depends_on: [a.id] })).task;

    const project = await s.client.readResource({ uri: PROJECT_URI });
    expect(project.contents).toHaveLength(1);
    expect(project.contents[0]).toMatchObject({ uri: PROJECT_URI, mimeType: 'application/json' });
    const overview = JSON.parse((project.contents[0] as { text: string }).text);
    expect(overview).toEqual(await s.ok('loom_status'));
    expect(overview).toMatchObject({ total: 2, ready: 1 });

    const task = await s.client.readResource({ uri: taskUri(a.id) });
    const detail = JSON.parse((task.contents[0] as { text: string }).text);
    expect(detail).toEqual(await s.ok('loom_status', { task_id: a.id }));
    expect(detail.task).toMatchObject({ id: a.id, context: { spec: 'x'.repeat(50) } });
    expect(detail.dependents).toEqual([c.id]);
    await s.close();
  });

  it('another session reading a claimed task does not see its lease token', async () => {
    const project = await newProject(b.api, 'res-lease');
    const [s1, s2] = [await connect(b, project), await connect(b, project)];
    const a = (await s1.ok('loom_create', { title: 'a' })).task;
    const claim = await s1.ok('loom_claim', { task_id: a.id });
    const own = JSON.parse(((await s1.client.readResource({ uri: taskUri(a.id) })).contents[0] as { text: string }).text);
    expect(own.task).toMatchObject({ id: a.id, status: 'claimed' });
    const text = ((await s2.client.readResource({ uri: taskUri(a.id) })).contents[0] as { text: string }).text;
    expect(text).not.toContain(claim.lease.token);
    await Promise.all([s1.close(), s2.close()]);
  });

  it('bad and hostile URIs are refused with InvalidParams and a message saying what exists; the session keeps working', async () => {
    const { s } = await subscriber('res-bad');
    const cases: Array<[unknown, RegExp]> = [
      ['loom://nope', /unknown resource "loom:\/\/nope".*loom:\/\/project.*loom:\/\/task\/\{id\}/],
      ['file:///etc/passwd', /unknown resource/],
      ['loom://task/../project', /task id looks like loom-1a2b3c4d/],
      ['loom://task/loom-1234', /task id looks like/],
      ['loom://task/loom-0000000\u0000', /unknown resource "loom:\/\/task\/loom-0000000\\u0000"/],
      ['loom://task/LOOM-00000000', /task id looks like/],
      ['loom://project/', /unknown resource/],
      [`loom://task/${'a'.repeat(10_000)}`, /too long \(10012 characters, at most 200\)/],
      ['', /non-empty string/],
      [42, /non-empty string/],
    ];
    for (const [uri, message] of cases) {
      const e = await refusal(s.client.request({ method: 'resources/read', params: { uri } } as never, ReadResourceResultSchema));
      expect(e.code, String(uri).slice(0, 40)).toBe(-32602);
      expect(e.message).toMatch(message);
      expect(e.message.length).toBeLessThan(400);
    }
    const missing = await refusal(s.client.readResource({ uri: 'loom://task/loom-00000000' }));
    expect(missing.code).toBe(-32602);
    expect(missing.message).toMatch(/TASK_NOT_FOUND.*loom-00000000.*loom_ready/);
    for (const method of ['resources/subscribe', 'resources/unsubscribe'] as const) {
      const e = await refusal(s.client.request({ method, params: { uri: 'loom://task/..%2f' } } as never, EmptyResultSchema));
      expect(e.code).toBe(-32602);
    }
    const none = await refusal(s.client.subscribeResource({ uri: 'loom://task/loom-00000000' }));
    expect(none.message).toMatch(/TASK_NOT_FOUND/);
    expect(s.mcp.resources.size).toBe(0);
    expect((await s.ok('loom_status')).total).toBe(0);
    await s.close();
  });
});

describe('subscriptions', () => {
  it('a change made through a tool sends resources/updated for the task and the project; unsubscribe stops them', async () => {
    const { s, updated } = await subscriber('res-sub');
    const a = (await s.ok('loom_create', { title: 'a' })).task;
    const other = (await s.ok('loom_create', { title: 'other' })).task;
    await s.client.subscribeResource({ uri: taskUri(a.id) });
    await s.client.subscribeResource({ uri: PROJECT_URI });
    await s.client.subscribeResource({ uri: PROJECT_URI }); // idempotent
    expect(s.mcp.resources.size).toBe(2);

    await s.ok('loom_update', { task_id: a.id, title: 'a, renamed' });
    await waitFor(() => updated.includes(taskUri(a.id)) && updated.includes(PROJECT_URI), 'updated for the task and the project');
    expect(updated).not.toContain(taskUri(other.id));
    // The task_event notification is still sent, as before.
    await waitFor(() => s.notifications.some((n) => n.method === 'notifications/loom/task_event' && (n.params as { type?: string }).type === 'task.updated'), 'task_event');

    await s.client.unsubscribeResource({ uri: taskUri(a.id) });
    await s.client.unsubscribeResource({ uri: PROJECT_URI });
    expect(s.mcp.resources.size).toBe(0);
    const before = updated.length;
    await s.ok('loom_update', { task_id: a.id, title: 'a, again' });
    await waitFor(() => s.notifications.filter((n) => (n.params as { type?: string } | undefined)?.type === 'task.updated').length >= 2, 'second task_event');
    await new Promise((r) => setTimeout(r, 400));
    expect(updated.length).toBe(before);
    await s.close();
  });

  it('completing a dependency updates the dependent it unblocks', async () => {
    const { s, updated } = await subscriber('res-unblock');
    const a = (await s.ok('loom_create', { title: 'a' })).task;
    const c = (await s.ok('loom_create', { title: 'c', depends_on: [a.id] })).task;
    await s.client.subscribeResource({ uri: taskUri(c.id) });
    await s.ok('loom_claim', { task_id: a.id });
    await s.ok('loom_done', { task_id: a.id });
    await waitFor(() => updated.includes(taskUri(c.id)), 'updated for the unblocked dependent');
    await s.close();
  });

  it('a burst of changes is coalesced: at most one updated per URI per 200 ms window (plus one trailing)', async () => {
    const { s, updated } = await subscriber('res-burst');
    await s.client.subscribeResource({ uri: PROJECT_URI });
    const t0 = Date.now();
    await Promise.all(Array.from({ length: 50 }, (_, i) => s.ok('loom_create', { title: `task ${i}` })));
    const elapsed = Date.now() - t0;
    await waitFor(() => updated.length > 0, 'first updated');
    await new Promise((r) => setTimeout(r, 500));
    // One leading notification per window, plus a trailing one (far fewer than the 50 events unless the machine is very slow).
    expect(updated.every((u) => u === PROJECT_URI)).toBe(true);
    expect(updated.length).toBeLessThanOrEqual(Math.ceil((elapsed + 500) / 200) + 2);
    await s.close();
  });

  it('subscriptions are bounded per session, and dropped when the session closes', async () => {
    const { s, updated } = await subscriber('res-close');
    const a = (await s.ok('loom_create', { title: 'a' })).task;
    await s.client.subscribeResource({ uri: PROJECT_URI });
    await s.client.subscribeResource({ uri: taskUri(a.id) });
    expect(s.mcp.resources.size).toBe(2);
    await s.close();
    expect(s.mcp.resources.size).toBe(0);
    s.mcp.resources.onEvent({ id: 1, project_id: 'p', type: 'task.updated', task_id: a.id, agent_id: null, payload: {}, at: '' });
    await new Promise((r) => setTimeout(r, 50));
    expect(updated).toEqual([]);
  });
});

describe('ResourceSubscriptions (unit)', () => {
  const event = (task_id: string | null, payload: Record<string, unknown> = {}): LoomEvent => ({ id: 1, project_id: 'p', type: 'task.updated', task_id, agent_id: null, payload: payload as never, at: '' });

  it('maps an event to the project, its task and the tasks its payload names; ignores what is not a task id', () => {
    expect(urisOf(event(null))).toEqual([PROJECT_URI]);
    expect(urisOf(event('loom-00000001', { by: 'loom-00000002', depends_on: ['loom-00000003', '../x', 7], context: { by: 'loom-00000009' } }))).toEqual([
      PROJECT_URI,
      taskUri('loom-00000001'),
      taskUri('loom-00000002'),
      taskUri('loom-00000003'),
    ]);
    expect(urisOf(event('loom-00000001', { by: 'fsck' }))).toEqual([PROJECT_URI, taskUri('loom-00000001')]);
  });

  it('refuses a subscription beyond the bound with a clear error; re-subscribing the same URI is free', () => {
    const subs = new ResourceSubscriptions({ send: async () => {}, log: () => {}, max: 3 });
    for (let i = 1; i <= 3; i++) subs.subscribe(taskUri(`loom-0000000${i}`));
    subs.subscribe(taskUri('loom-00000001'));
    expect(() => subs.subscribe(PROJECT_URI)).toThrow(/already holds 3 resource subscriptions.*unsubscribe/);
    subs.unsubscribe(taskUri('loom-00000001'));
    subs.subscribe(PROJECT_URI);
    expect(subs.size).toBe(3);
    subs.close();
  });

  it('1000 events in one burst send one leading and one trailing updated per subscribed URI', async () => {
    const sent: string[] = [];
    let clock = 0;
    const subs = new ResourceSubscriptions({ send: async (u) => void sent.push(u), log: () => {}, windowMs: 200, now: () => clock });
    subs.subscribe(PROJECT_URI);
    subs.subscribe(taskUri('loom-00000001'));
    for (let i = 0; i < 1000; i++) subs.onEvent(event(`loom-${(i + 1).toString(16).padStart(8, '0')}`));
    expect(sent).toEqual([PROJECT_URI, taskUri('loom-00000001')]);
    clock = 250;
    await new Promise((r) => setTimeout(r, 260));
    expect(sent).toEqual([PROJECT_URI, taskUri('loom-00000001'), PROJECT_URI]);
    subs.close();
  });
});
