import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { EventType, LoomEvent } from '../../src/domain/events.js';

export interface Received {
  headers: IncomingHttpHeaders;
  body: string;
}

export interface TestServer {
  url: string;
  requests: Received[];
  close(): Promise<void>;
}

/**
 * A local HTTP server on 127.0.0.1 (a free port) that records every request
 * and answers through `answer`, which may also leave the request hanging.
 */
export async function startServer(answer: (req: Received, n: number, res: ServerResponse) => void): Promise<TestServer> {
  const requests: Received[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(r);
      answer(r, requests.length, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export function event(id: number, type: EventType = 'task.done', extra: Partial<LoomEvent> = {}): LoomEvent {
  return {
    id,
    project_id: 'proj',
    type,
    task_id: 'loom-1a2b3c4d',
    agent_id: 'ada',
    payload: { attempt: 1, has_output: false },
    at: '2024-05-01T12:03:04.000Z',
    ...extra,
  };
}

export async function until(cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
