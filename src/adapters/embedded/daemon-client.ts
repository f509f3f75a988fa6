import { Agent, request } from 'node:http';
import { LoomError, type SerializedError } from '../../domain/errors.js';
import type { LoomApi } from '../../ports/loom-api.js';
import type { DaemonInfo } from './daemon-server.js';

export interface DaemonClientOptions {
  socketPath: string;
  token: string;
  /** Starts a daemon for this data directory (detached); called when none answers. */
  spawnDaemon: () => void;
  /** How long to wait for a spawned daemon to answer. */
  startTimeoutMs?: number;
}

const NOT_LISTENING = new Set(['ECONNREFUSED', 'ENOENT']);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Reply = { status: number; body: { result?: unknown; error?: SerializedError } };

/**
 * The LoomApi of an embedded project, served by its daemon. The first call
 * starts the daemon when none is running; a daemon that exits between two
 * calls is started again. Only calls that never reached a daemon are retried,
 * so nothing is applied twice.
 */
export class DaemonClient implements LoomApi {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });

  constructor(private readonly o: DaemonClientOptions) {}

  private send(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Reply> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          socketPath: this.o.socketPath,
          path,
          method,
          agent: this.agent,
          headers: {
            authorization: `Bearer ${this.o.token}`,
            ...(payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            try {
              resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
            } catch (e) {
              reject(e);
            }
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Ensures a daemon answers, starting one if needed. */
  async connect(): Promise<void> {
    try {
      await this.send('GET', '/status');
      return;
    } catch (e) {
      if (!NOT_LISTENING.has((e as NodeJS.ErrnoException).code ?? '')) throw unavailable(e);
    }
    this.o.spawnDaemon();
    const deadline = Date.now() + (this.o.startTimeoutMs ?? 30_000);
    for (let wait = 20; Date.now() < deadline; wait = Math.min(wait * 2, 250)) {
      await sleep(wait);
      try {
        await this.send('GET', '/status');
        return;
      } catch (e) {
        if (!NOT_LISTENING.has((e as NodeJS.ErrnoException).code ?? '')) throw unavailable(e);
      }
    }
    throw new LoomError('DAEMON_UNAVAILABLE', 'the Loom daemon for this project did not start in time', {
      hint: 'see .loom/daemon.log in the project; `loom daemon status` shows whether one runs',
    });
  }

  private async call<T>(method: string, params: unknown): Promise<T> {
    let reply: Reply;
    try {
      reply = await this.send('POST', `/rpc/${method}`, params);
    } catch (e) {
      if (!NOT_LISTENING.has((e as NodeJS.ErrnoException).code ?? '')) throw unavailable(e);
      await this.connect(); // the daemon went idle and exited: start it again
      reply = await this.send('POST', `/rpc/${method}`, params).catch((err: unknown) => {
        throw unavailable(err);
      });
    }
    if (reply.body.error !== undefined) throw LoomError.fromJSON(reply.body.error);
    return reply.body.result as T;
  }

  /** The running daemon's facts, or null when none runs (never starts one). */
  async info(): Promise<(DaemonInfo & { requests: number; connections: number }) | null> {
    try {
      const r = await this.send('GET', '/status');
      return r.body.result as DaemonInfo & { requests: number; connections: number };
    } catch (e) {
      if (NOT_LISTENING.has((e as NodeJS.ErrnoException).code ?? '')) return null;
      throw unavailable(e);
    }
  }

  /** Asks the daemon to stop and waits until its socket is free. */
  async stop(timeoutMs = 15_000): Promise<boolean> {
    try {
      await this.send('POST', '/stop');
    } catch (e) {
      if (NOT_LISTENING.has((e as NodeJS.ErrnoException).code ?? '')) return false;
      throw unavailable(e);
    }
    this.agent.destroy();
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      // A connection reset means the daemon is going away right now: look again.
      const info = await this.info().catch((e: unknown) => (LoomError.is(e) ? 'closing' : Promise.reject(e)));
      if (info === null) return true;
      await sleep(50);
    }
    throw new LoomError('DAEMON_UNAVAILABLE', 'the Loom daemon did not stop in time', { hint: 'it may be finishing a long request; try again' });
  }

  createProject = (i: Parameters<LoomApi['createProject']>[0]) => this.call<Awaited<ReturnType<LoomApi['createProject']>>>('createProject', i);
  getProject = (i: Parameters<LoomApi['getProject']>[0]) => this.call<Awaited<ReturnType<LoomApi['getProject']>>>('getProject', i);
  createTask = (i: Parameters<LoomApi['createTask']>[0]) => this.call<Awaited<ReturnType<LoomApi['createTask']>>>('createTask', i);
  updateTask = (i: Parameters<LoomApi['updateTask']>[0]) => this.call<Awaited<ReturnType<LoomApi['updateTask']>>>('updateTask', i);
  ready = (i: Parameters<LoomApi['ready']>[0]) => this.call<Awaited<ReturnType<LoomApi['ready']>>>('ready', i);
  claim = (i: Parameters<LoomApi['claim']>[0]) => this.call<Awaited<ReturnType<LoomApi['claim']>>>('claim', i);
  heartbeat = (i: Parameters<LoomApi['heartbeat']>[0]) => this.call<Awaited<ReturnType<LoomApi['heartbeat']>>>('heartbeat', i);
  done = (i: Parameters<LoomApi['done']>[0]) => this.call<Awaited<ReturnType<LoomApi['done']>>>('done', i);
  fail = (i: Parameters<LoomApi['fail']>[0]) => this.call<Awaited<ReturnType<LoomApi['fail']>>>('fail', i);
  escalate = (i: Parameters<LoomApi['escalate']>[0]) => this.call<Awaited<ReturnType<LoomApi['escalate']>>>('escalate', i);
  cancel = (i: Parameters<LoomApi['cancel']>[0]) => this.call<Awaited<ReturnType<LoomApi['cancel']>>>('cancel', i);
  status = (i: Parameters<LoomApi['status']>[0]) => this.call<Awaited<ReturnType<LoomApi['status']>>>('status', i);
  overview = (i: Parameters<LoomApi['overview']>[0]) => this.call<Awaited<ReturnType<LoomApi['overview']>>>('overview', i);
  graph = (i: Parameters<LoomApi['graph']>[0]) => this.call<Awaited<ReturnType<LoomApi['graph']>>>('graph', i);
  events = (i: Parameters<LoomApi['events']>[0]) => this.call<Awaited<ReturnType<LoomApi['events']>>>('events', i);

  async close(): Promise<void> {
    this.agent.destroy();
  }
}

function unavailable(e: unknown): LoomError {
  return new LoomError('DAEMON_UNAVAILABLE', `cannot talk to the Loom daemon: ${(e as Error)?.message ?? e}`, {
    hint: 'see .loom/daemon.log; `loom daemon stop` then retry starts a fresh one',
    cause: e,
  });
}
