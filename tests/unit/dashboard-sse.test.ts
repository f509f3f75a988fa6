import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { NewestEvent } from '../../src/adapters/dashboard/dashboard-data.js';
import { streamEvents } from '../../src/adapters/dashboard/dashboard-sse.js';
import type { LoomEvent } from '../../src/domain/events.js';
import type { LoomApi } from '../../src/ports/loom-api.js';
import type { EventSource } from '../../src/ports/loom-connector.js';

/**
 * The stream's own logic over a real socket, with the log as an array behind
 * the two LoomApi calls it makes (the stores are tested through the built
 * binary in tests/e2e/dashboard*.e2e.test.ts): a long replay goes live.
 */
const event = (id: number): LoomEvent => ({ id, project_id: 'prj-1', at: '2026-01-01T00:00:00.000Z', type: 'task.updated', task_id: 'loom-00000001', agent_id: null, payload: { n: id, lease_token: 'lease-secret' } });

let server: Server | undefined;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

describe('the dashboard event stream', () => {
  it('replays a long log (more than a socket buffer), then sends live events, with ids and without tokens', async () => {
    const log = Array.from({ length: 3000 }, (_, i) => event(i + 1));
    const api = {
      events: async ({ since = 0, limit = 100 }: { since?: number; limit?: number }) => log.filter((e) => e.id > since).slice(0, limit),
    } as unknown as LoomApi;
    let push: ((e: LoomEvent) => void) | undefined;
    const events: EventSource = { subscribe: (_p, h) => ((push = h as (e: LoomEvent) => void), () => (push = undefined)) };
    server = createServer((req, res) =>
      void streamEvents(req, res, { api, events, project: { project_dir: '/x', project_id: 'prj-1', mode: 'embedded' }, newest: new NewestEvent(api, 'prj-1'), since: 10 }),
    );
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as AddressInfo).port;
    let text = '';
    const got = new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/' }, (res) => {
        res.on('data', (c: Buffer) => {
          text += c.toString();
          if (text.includes('id: 3000\n') && push !== undefined && !text.includes('id: 3001\n') && !(req as { pushed?: boolean }).pushed) {
            (req as { pushed?: boolean }).pushed = true;
            log.push(event(3001));
            push(event(3001));
          }
          if (text.includes('id: 3001\n')) {
            req.destroy();
            resolve();
          }
        });
      });
      req.on('error', (e) => (text.includes('id: 3001') ? resolve() : reject(e)));
      req.end();
    });
    await got;
    const ids = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    expect(ids[0]).toBe(11);
    expect(ids.at(-1)).toBe(3001);
    expect(new Set(ids).size).toBe(ids.length);
    expect(text).not.toContain('lease-secret');
  }, 60_000);
});
