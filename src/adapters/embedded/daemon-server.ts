import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import { LoomError } from '../../domain/errors.js';
import type { LoomApi } from '../../ports/loom-api.js';

/** The LoomApi methods a daemon serves (everything but close). */
export const DAEMON_METHODS = [
  'createProject', 'getProject', 'createTask', 'updateTask', 'ready', 'claim', 'heartbeat', 'done', 'fail',
  'escalate', 'cancel', 'status', 'overview', 'graph', 'events',
] as const satisfies ReadonlyArray<keyof LoomApi>;

export interface DaemonInfo {
  pid: number;
  data_dir: string;
  started_at: string;
  idle_timeout_s: number;
  schema_version: number;
  migrations_applied: string[];
}

export interface DaemonServerOptions {
  socketPath: string;
  token: string;
  /** Resolves once the database is open; requests wait for it. */
  api: Promise<LoomApi>;
  info: () => DaemonInfo;
  idleTimeoutMs: number;
  onStop: (reason: 'idle' | 'requested') => void;
  log: (line: string) => void;
}

export interface DaemonServer {
  server: Server;
  stats(): { requests: number; in_flight: number; connections: number };
  close(): Promise<void>;
}

/**
 * Binds the socket (the owner lock) and serves the LoomApi as JSON over HTTP.
 * Rejects with EADDRINUSE when another daemon owns the directory.
 */
export function startDaemonServer(o: DaemonServerOptions): Promise<DaemonServer> {
  let requests = 0;
  let inFlight = 0;
  let connections = 0;
  let lastActivity = Date.now();
  const expected = Buffer.from(`Bearer ${o.token}`);

  const authorised = (req: IncomingMessage): boolean => {
    const got = Buffer.from(String(req.headers.authorization ?? ''));
    return got.length === expected.length && timingSafeEqual(got, expected);
  };

  const send = (res: ServerResponse, status: number, body: unknown): void => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (!authorised(req)) return send(res, 401, { error: { code: 'DAEMON_UNAVAILABLE', message: 'bad daemon token' } });
    if (req.method === 'GET' && req.url === '/status') {
      return send(res, 200, { result: { ...o.info(), requests, in_flight: inFlight - 1, connections } });
    }
    if (req.method === 'POST' && req.url === '/stop') {
      send(res, 200, { result: { stopping: true } });
      setImmediate(() => o.onStop('requested'));
      return;
    }
    const match = /^\/rpc\/([a-zA-Z]+)$/.exec(req.url ?? '');
    const method = match?.[1] as (typeof DAEMON_METHODS)[number] | undefined;
    if (req.method !== 'POST' || method === undefined || !DAEMON_METHODS.includes(method)) {
      return send(res, 404, { error: { code: 'VALIDATION_FAILED', message: `unknown daemon route ${req.method} ${req.url}` } });
    }
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let params: unknown;
    try {
      params = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
    } catch {
      return send(res, 400, { error: { code: 'VALIDATION_FAILED', message: 'request body is not JSON' } });
    }
    try {
      const api = await o.api;
      const result = await (api[method] as (p: unknown) => Promise<unknown>).call(api, params);
      send(res, 200, { result });
    } catch (e) {
      if (LoomError.is(e)) return send(res, 200, { error: e.toJSON() });
      o.log(`internal error in ${method}: ${(e as Error)?.stack ?? String(e)}`);
      send(res, 200, { error: { code: 'INTERNAL', message: `internal error in the Loom daemon: ${(e as Error)?.message ?? e}`, hint: 'see .loom/daemon.log' } });
    }
  };

  const server = createServer((req, res) => {
    requests++;
    inFlight++;
    lastActivity = Date.now();
    handle(req, res)
      .catch((e) => {
        o.log(`request failed: ${String(e)}`);
        if (!res.headersSent) send(res, 500, { error: { code: 'INTERNAL', message: 'daemon request failed' } });
      })
      .finally(() => {
        inFlight--;
        lastActivity = Date.now();
      });
  });
  server.keepAliveTimeout = 60_000;
  server.on('connection', (socket) => {
    connections++;
    lastActivity = Date.now();
    socket.on('close', () => {
      connections--;
      lastActivity = Date.now();
    });
  });

  // Idle: no request in flight, no client connected, for the whole timeout.
  const idleTimer = setInterval(() => {
    if (inFlight === 0 && connections === 0 && Date.now() - lastActivity >= o.idleTimeoutMs) o.onStop('idle');
  }, Math.min(1000, o.idleTimeoutMs));
  idleTimer.unref();

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.socketPath, () => {
      server.off('error', reject);
      resolve({
        server,
        stats: () => ({ requests, in_flight: inFlight, connections }),
        close: () =>
          new Promise<void>((done) => {
            clearInterval(idleTimer);
            server.close(() => done());
            server.closeIdleConnections();
          }),
      });
    });
  });
}
