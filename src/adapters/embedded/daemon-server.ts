import { timingSafeEqual } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { LoomError } from '../../domain/errors.js';
import type { LoomApi } from '../../ports/loom-api.js';
import type { EventSource } from '../../ports/loom-connector.js';
import { jsonLine, onJsonLines, tooLarge, writeJsonLine } from './json-lines.js';

/** The LoomApi methods a daemon serves (everything but close). */
export const DAEMON_METHODS = [
  'createProject', 'getProject', 'createTask', 'createTasks', 'updateTask', 'ready', 'listTasks', 'claim', 'heartbeat', 'done', 'fail', 'costs', 'setBudget', 'budgets',
  'claimBatch', 'doneBatch', 'failBatch',
  'escalate', 'cancel', 'hold', 'resume', 'status', 'overview', 'graph', 'events', 'release', 'agentTasks', 'sendMessage', 'inbox', 'recoverLeases', 'reconcile', 'deadLetters', 'redrive', 'escalations',
  'resolveEscalation', 'agents', 'fsck', 'skills', 'skill', 'renderSkill', 'skillStats', 'decompose', 'projects', 'removeProject',
  'workflows', 'workflow', 'runWorkflow', 'workflowRuns', 'workflowRun', 'exportProject', 'importProject', 'metrics',
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
  /** Committed events, pushed to connections that subscribed to their project. */
  events: Promise<EventSource>;
  info: () => DaemonInfo;
  idleTimeoutMs: number;
  onStop: (reason: 'idle' | 'requested' | 'code changed') => void;
  log: (line: string) => void;
  /** Called on a refused hello: puts the token file right; true when it was rewritten (the client may read it again). */
  onBadToken?: () => boolean;
  /**
   * Asked at each client's hello: why the code this daemon runs is no longer
   * the code on disk (Loom was upgraded or rebuilt since it started), or null.
   * A stale daemon refuses that hello as stopping and stops, so the client
   * starts one that runs the new code.
   */
  staleCode?: () => string | null;
}

export interface DaemonServer {
  server: Server;
  stats(): { requests: number; in_flight: number; connections: number };
  /**
   * Stops serving: lets in-flight requests finish, then closes every connection.
   * The socket stays bound (it is the owner lock): whoever connects meanwhile, or
   * sends another request, is told the daemon is stopping (`stoppingError`), so
   * a client waits for it to go and starts the next one.
   */
  drain(): Promise<void>;
  /** Frees the socket, the owner lock: only once the database is closed. */
  release(): Promise<void>;
  /** drain(), then release(). */
  close(): Promise<void>;
}

/** The refusal of a daemon that is stopping: nothing was applied; the caller may try again on the next daemon. */
export const stoppingError = () => ({
  code: 'DAEMON_UNAVAILABLE',
  message: 'the Loom daemon is stopping',
  hint: 'try again: the next call starts a new daemon once this one has closed the database',
  details: { stopping: true },
});

/** A request: `{id, method, params}`; the first one on a connection must be `hello` with the token. */
interface Request {
  id: number;
  method: string;
  params?: unknown;
}

/**
 * Binds the socket (the owner lock) and serves the LoomApi as JSON lines:
 * many requests in flight per connection, answered by id. Rejects with
 * EADDRINUSE when another daemon owns the directory.
 */
export function startDaemonServer(o: DaemonServerOptions): Promise<DaemonServer> {
  let requests = 0;
  let inFlight = 0;
  let lastActivity = Date.now();
  let draining = false;
  const sockets = new Set<Socket>();
  const expected = Buffer.from(o.token);
  const idle: Array<() => void> = [];

  const tokenOk = (token: unknown): boolean => {
    const got = Buffer.from(typeof token === 'string' ? token : '');
    return got.length === expected.length && timingSafeEqual(got, expected);
  };

  const answer = async (req: Request, socket: Socket, subscriptions: Map<string, () => void>): Promise<unknown> => {
    if (req.method === 'events.subscribe') {
      // Pushes `{event}` lines on this connection, until it closes.
      const projectId = String((req.params as { project_id?: unknown })?.project_id ?? '');
      if (!subscriptions.has(projectId)) {
        const source = await o.events;
        subscriptions.set(projectId, source.subscribe(projectId, (event) => writeJsonLine(socket, { event })));
      }
      return { subscribed: projectId };
    }
    if (req.method === 'daemon.status') return { ...o.info(), requests, in_flight: inFlight - 1, connections: sockets.size };
    if (req.method === 'daemon.stop') {
      setImmediate(() => o.onStop('requested'));
      return { stopping: true };
    }
    const method = req.method as (typeof DAEMON_METHODS)[number];
    if (!DAEMON_METHODS.includes(method)) {
      throw new LoomError('VALIDATION_FAILED', `the daemon has no method ${String(req.method)}`, { hint: 'the loom client and daemon versions differ: run `loom daemon stop`' });
    }
    const api = await o.api;
    return (api[method] as (p: unknown) => Promise<unknown>).call(api, req.params ?? {});
  };

  const serve = (socket: Socket): void => {
    sockets.add(socket);
    let authorised = false;
    const subscriptions = new Map<string, () => void>();
    socket.on('close', () => {
      subscriptions.forEach((off) => off());
      sockets.delete(socket);
      // A refused client (a bad token, retried in a loop) does not keep the daemon alive.
      if (authorised) lastActivity = Date.now();
    });
    socket.on('error', () => socket.destroy());
    onJsonLines(
      socket,
      (msg) => {
        const req = msg as Request;
        if (typeof req?.id !== 'number' || typeof req.method !== 'string') {
          socket.destroy();
          return;
        }
        if (draining) {
          writeJsonLine(socket, { id: req.id, error: stoppingError() });
          if (!authorised) socket.end();
          return;
        }
        if (!authorised) {
          if (req.method === 'hello' && tokenOk((req.params as { token?: unknown })?.token)) {
            let stale: string | null = null;
            try {
              stale = o.staleCode?.() ?? null;
            } catch (e) {
              o.log(`could not compare the code on disk: ${(e as Error).message}`);
            }
            if (stale !== null) {
              // Told as any stopping daemon tells it: the client waits for the socket, then starts the next daemon.
              o.log(`${stale}: stopping, so the next client starts a daemon that runs it`);
              writeJsonLine(socket, { id: req.id, error: stoppingError() });
              socket.end();
              void drain();
              o.onStop('code changed');
              return;
            }
            authorised = true;
            lastActivity = Date.now();
            writeJsonLine(socket, { id: req.id, result: { pid: process.pid } });
          } else {
            let restored = false;
            try {
              restored = o.onBadToken?.() ?? false;
            } catch (e) {
              o.log(`could not write the token file back: ${(e as Error).message}`);
            }
            writeJsonLine(socket, {
              id: req.id,
              error: {
                code: 'DAEMON_UNAVAILABLE',
                message: restored ? 'bad daemon token: .loom/daemon.token was gone or changed, and the daemon wrote its token back' : 'bad daemon token',
                hint: restored ? 'read .loom/daemon.token again and retry' : 'the token is in .loom/daemon.token; if it was changed by hand, `loom daemon stop --force` stops the daemon through its pid',
                details: { token_restored: restored },
              },
            });
            socket.end();
          }
          return;
        }
        requests++;
        inFlight++;
        lastActivity = Date.now();
        answer(req, socket, subscriptions)
          .then(
            (result) => {
              const line = jsonLine({ id: req.id, result: result ?? null });
              if (line !== null) {
                if (!socket.destroyed) socket.write(line);
                return;
              }
              writeJsonLine(socket, { id: req.id, error: tooLarge(req.method).toJSON() });
            },
            (e: unknown) => {
              if (LoomError.is(e)) return writeJsonLine(socket, { id: req.id, error: e.toJSON() });
              o.log(`internal error in ${req.method}: ${(e as Error)?.stack ?? String(e)}`);
              writeJsonLine(socket, {
                id: req.id,
                error: { code: 'INTERNAL', message: `internal error in the Loom daemon (${req.method})`, hint: 'details are in .loom/daemon.log' },
              });
            },
          )
          .finally(() => {
            inFlight--;
            lastActivity = Date.now();
            if (inFlight === 0) idle.splice(0).forEach((f) => f());
          });
      },
      (e) => o.log(`dropped a connection: ${e.message}`),
    );
  };

  const server = createServer(serve);
  // Idle: no request in flight and no client connected, for the whole timeout.
  const idleTimer = setInterval(() => {
    if (inFlight === 0 && sockets.size === 0 && Date.now() - lastActivity >= o.idleTimeoutMs) o.onStop('idle');
  }, Math.min(1000, o.idleTimeoutMs));
  idleTimer.unref();

  let drained: Promise<void> | undefined;
  const drain = (): Promise<void> => {
    drained ??= (async () => {
      draining = true;
      clearInterval(idleTimer);
      if (inFlight > 0) await new Promise<void>((done) => idle.push(done));
      // The connections open now; later ones are told the daemon is stopping and closed.
      const open = [...sockets];
      const closed = Promise.all(open.map((s) => (s.destroyed ? undefined : new Promise<void>((done) => s.once('close', () => done())))));
      for (const s of open) s.end();
      const force = setTimeout(() => open.forEach((s) => s.destroy()), 1000);
      await closed;
      clearTimeout(force);
    })();
    return drained;
  };
  const release = async (): Promise<void> => {
    await drain();
    const closed = new Promise<void>((done) => server.close(() => done()));
    for (const s of sockets) s.destroy();
    await closed;
  };

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.socketPath, () => {
      server.off('error', reject);
      resolve({
        server,
        stats: () => ({ requests, in_flight: inFlight, connections: sockets.size }),
        drain,
        release,
        close: async () => {
          await drain();
          await release();
        },
      });
    });
  });
}

