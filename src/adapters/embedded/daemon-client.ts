import { connect, type Socket } from 'node:net';
import { LoomError, type SerializedError } from '../../domain/errors.js';
import type { LoomEvent } from '../../domain/events.js';
import type { EventHandler } from '../../ports/event-bus.js';
import type { LoomApi } from '../../ports/loom-api.js';
import type { EventSource } from '../../ports/loom-connector.js';
import type { DaemonInfo } from './daemon-server.js';
import { jsonLine, LineTooLarge, MAX_LINE_BYTES, onJsonLines, tooLarge } from './json-lines.js';

export interface DaemonClientOptions {
  socketPath: string;
  token: string;
  /** Reads the token file again (after the daemon wrote its token back); default: the token stays. */
  readToken?: () => string;
  /** Starts a daemon for this data directory (detached); called when none answers. */
  spawnDaemon: () => void;
  /** How long to wait for a spawned daemon to answer. */
  startTimeoutMs?: number;
}

type Reply = { id: number; result?: unknown; error?: SerializedError; event?: LoomEvent };
type Pending = { resolve: (v: unknown) => void; reject: (e: unknown) => void };

const NOT_LISTENING = new Set(['ECONNREFUSED', 'ENOENT']);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const notListening = (e: unknown): boolean => NOT_LISTENING.has((e as NodeJS.ErrnoException)?.code ?? '');
/** A daemon that is stopping refuses, applying nothing; it still holds the socket until its database is closed. */
const stopping = (e: unknown): boolean => LoomError.is(e) && e.code === 'DAEMON_UNAVAILABLE' && e.details?.stopping === true;

/**
 * How long a client waits for a daemon it started to take the socket. That takes
 * well under a second on a quiet machine, several seconds on a loaded one (load
 * average 10 on 2 cores); a daemon that cannot start says why in .loom/daemon.log.
 */
export const DAEMON_START_TIMEOUT_MS = 60_000;

/** One authenticated connection to a daemon, carrying many requests at once. */
class Connection {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  closed = false;
  /** Its daemon is stopping: calls in flight finish here, new ones go to the next daemon. */
  retiring = false;

  /** Set when the daemon sent a line too long to take: pending calls then fail with RESPONSE_TOO_LARGE. */
  private overflow = false;

  private constructor(
    private readonly socket: Socket,
    private readonly onEvent: (event: LoomEvent) => void,
  ) {
    onJsonLines(
      socket,
      (msg) => {
        const reply = msg as Reply;
        if (reply.event !== undefined) return onEvent(reply.event);
        const p = this.pending.get(reply.id);
        if (p === undefined) return;
        this.pending.delete(reply.id);
        this.refCount();
        if (reply.error !== undefined) p.reject(LoomError.fromJSON(reply.error));
        else p.resolve(reply.result);
      },
      (e) => {
        if (e instanceof LineTooLarge) this.overflow = true;
        socket.destroy();
      },
    );
    socket.on('close', () => {
      this.closed = true;
      for (const p of this.pending.values()) {
        p.reject(
          this.overflow
            ? tooLarge('a call')
            : new LoomError('DAEMON_UNAVAILABLE', WENT_AWAY, {
                hint: 'check with `loom status` whether it took effect before retrying; .loom/daemon.log says why the daemon stopped',
              }),
        );
      }
      this.pending.clear();
    });
  }

  /** Rejects with the socket error (ECONNREFUSED when no daemon listens). */
  static open(path: string, token: string, onEvent: (event: LoomEvent) => void = () => {}): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = connect(path);
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        socket.on('error', () => socket.destroy());
        const c = new Connection(socket, onEvent);
        c.request('hello', { token }).then(
          () => resolve(c),
          (e: unknown) => {
            // Cut off before it answered: it is going away (stopping, or crashed). Wait and see.
            if (c.closed && !stopping(e) && LoomError.is(e) && e.message === WENT_AWAY) {
              reject(new LoomError('DAEMON_UNAVAILABLE', 'the Loom daemon went away before answering', { details: { stopping: true } }));
            } else {
              reject(e);
            }
          },
        );
      });
    });
  }

  request(method: string, params: unknown): Promise<unknown> {
    if (this.closed) return Promise.reject(new LoomError('DAEMON_UNAVAILABLE', 'the connection to the Loom daemon is closed'));
    const id = this.nextId++;
    const line = jsonLine({ id, method, params });
    if (line === null) {
      return Promise.reject(
        new LoomError('VALIDATION_FAILED', `the ${method} request is over ${MAX_LINE_BYTES / (1024 * 1024)} MiB, more than the daemon takes`, {
          hint: 'send less: contexts and outputs have limits of their own (tasks.max_context_bytes, tasks.max_output_bytes); keep large material in files. Nothing was written',
          details: { method, limit_bytes: MAX_LINE_BYTES },
        }),
      );
    }
    const result = new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.refCount();
    if (!this.socket.destroyed) this.socket.write(line);
    return result;
  }

  /** Keeps the process alive while it waits for events (an MCP bridge, say). */
  listening = false;

  /** An idle connection must not keep a finished CLI process alive. */
  private refCount(): void {
    if (this.pending.size > 0 || this.listening) this.socket.ref();
    else this.socket.unref();
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }
}

const WENT_AWAY = 'the Loom daemon went away during the call';

/**
 * The LoomApi of an embedded project, served by its daemon over one socket
 * connection. The first call starts the daemon when none is running; a
 * daemon that exited between two calls is started again. A call is only
 * retried when it never reached a daemon, so nothing is applied twice.
 */
export class DaemonClient implements LoomApi, EventSource {
  private conn: Promise<Connection> | null = null;
  private readonly handlers = new Map<string, Set<EventHandler>>();

  private token: string;

  constructor(private readonly o: DaemonClientOptions) {
    this.token = o.token;
  }

  /** A connection that passed hello; when the daemon wrote its token back (the file was gone or changed), read it once more. */
  private async open(): Promise<Connection> {
    try {
      return await this.connectOnce();
    } catch (e) {
      if (!(LoomError.is(e) && e.details?.token_restored === true && this.o.readToken !== undefined)) throw e;
      this.token = this.o.readToken();
      return this.connectOnce();
    }
  }

  private connectOnce(): Promise<Connection> {
    return Connection.open(this.o.socketPath, this.token, (event) => {
      for (const h of this.handlers.get(event.project_id) ?? []) {
        try {
          h(event);
        } catch {
          // a subscriber's failure is its own
        }
      }
    });
  }

  /**
   * Live events of a project, pushed by the daemon. A new connection (after
   * the daemon restarted) subscribes again; events in between are in the log.
   */
  subscribe(projectId: string, handler: EventHandler): () => void {
    const set = this.handlers.get(projectId) ?? new Set();
    set.add(handler);
    this.handlers.set(projectId, set);
    if (set.size === 1) this.subscribing = this.resubscribe().catch(() => undefined);
    return () => {
      set.delete(handler);
      if (set.size === 0) this.handlers.delete(projectId);
    };
  }

  /** The last subscription request sent: settled() waits for the daemon to have it. */
  private subscribing: Promise<void> = Promise.resolve();

  settled(): Promise<void> {
    return this.subscribing;
  }

  private async resubscribe(): Promise<void> {
    const c = await this.connection();
    c.listening = this.handlers.size > 0;
    await Promise.all([...this.handlers.keys()].map((projectId) => c.request('events.subscribe', { project_id: projectId })));
  }

  /** The open connection, starting a daemon if none answers. */
  private async connection(): Promise<Connection> {
    const current = this.conn === null ? null : await this.conn.catch(() => null);
    if (current !== null && !current.closed && !current.retiring) return current;
    this.conn = this.startAndOpen();
    this.conn.then(
      () => {
        if (current !== null && this.handlers.size > 0) void this.resubscribe().catch(() => undefined);
      },
      () => {
        this.conn = null;
      },
    );
    return this.conn;
  }

  /** Bumped by close(): a start still being waited for then stops waiting (and polling: it would keep the process alive). */
  private closes = 0;

  private async startAndOpen(): Promise<Connection> {
    const closes = this.closes;
    const deadline = Date.now() + (this.o.startTimeoutMs ?? DAEMON_START_TIMEOUT_MS);
    // Start a daemon when the socket is free; again if one we waited for was stopping.
    let start = true;
    // A fresh daemon binds its socket within a few hundred ms (before it opens the database): poll finely.
    for (let wait = 15; ; wait = Math.min(wait + 5, 50)) {
      try {
        return await this.open();
      } catch (e) {
        if (stopping(e)) {
          start = true; // it frees the socket once its database is closed
        } else if (LoomError.is(e)) {
          throw e; // the daemon answered: a refused token, say
        } else if (!notListening(e)) {
          throw unavailable(e);
        } else if (start) {
          this.o.spawnDaemon();
          start = false;
        }
      }
      if (Date.now() >= deadline) break;
      await sleep(wait);
      if (this.closes !== closes) throw new LoomError('DAEMON_UNAVAILABLE', 'the connection to the Loom daemon was closed while it was starting', { hint: 'open the project again' });
    }
    throw new LoomError('DAEMON_UNAVAILABLE', 'the Loom daemon for this project did not start in time', {
      hint: 'see .loom/daemon.log in the project; `loom daemon status` shows whether one runs',
    });
  }

  /** Ensures a daemon answers, starting one if needed. */
  async connect(): Promise<void> {
    await this.connection();
  }

  private async call<T>(method: string, params: unknown): Promise<T> {
    for (;;) {
      const c = await this.connection();
      try {
        return (await c.request(method, params)) as T;
      } catch (e) {
        if (!stopping(e)) throw e;
        // Refused, not applied, by a daemon that is stopping: again, on the next one. Calls
        // still in flight on this connection get their answers; the daemon then closes it.
        c.retiring = true;
      }
    }
  }

  /**
   * The running daemon's facts, or null when none runs (never starts one). A
   * daemon that is stopping (asked to, idle, or its code changed on disk) is
   * waited for: it is gone once it frees its socket.
   */
  async info(timeoutMs = 60_000): Promise<(DaemonInfo & { requests: number; connections: number }) | null> {
    const deadline = Date.now() + timeoutMs;
    let c: Connection;
    for (;;) {
      try {
        c = await this.open();
        break;
      } catch (e) {
        if (notListening(e)) return null;
        if (!stopping(e)) throw unavailable(e);
        if (Date.now() >= deadline) throw e;
        await sleep(50);
      }
    }
    try {
      return (await c.request('daemon.status', {})) as DaemonInfo & { requests: number; connections: number };
    } finally {
      c.close();
    }
  }

  /**
   * Asks the daemon to stop and waits until its socket is free, which it frees
   * once its database is closed. Generous: a busy machine slows both.
   */
  async stop(timeoutMs = 60_000): Promise<boolean> {
    await this.close();
    let c: Connection | undefined;
    try {
      c = await this.open();
    } catch (e) {
      if (notListening(e)) return false;
      if (!stopping(e)) throw unavailable(e); // else it is stopping already: wait for it below
    }
    if (c !== undefined) {
      const conn = c;
      await conn
        .request('daemon.stop', {})
        .catch((e: unknown) => {
          if (!stopping(e)) throw e;
        })
        .finally(() => conn.close());
    }
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      // A reset or refused hello means the daemon is going away right now: look again.
      const info = await this.info(0).catch(() => 'closing' as const);
      if (info === null) return true;
      await sleep(50);
    }
    throw new LoomError('DAEMON_UNAVAILABLE', 'the Loom daemon did not stop in time', { hint: 'it may be finishing a long request; try again' });
  }

  createProject = (i: Parameters<LoomApi['createProject']>[0]) => this.call<Awaited<ReturnType<LoomApi['createProject']>>>('createProject', i);
  getProject = (i: Parameters<LoomApi['getProject']>[0]) => this.call<Awaited<ReturnType<LoomApi['getProject']>>>('getProject', i);
  createTask = (i: Parameters<LoomApi['createTask']>[0]) => this.call<Awaited<ReturnType<LoomApi['createTask']>>>('createTask', i);
  createTasks = (i: Parameters<LoomApi['createTasks']>[0]) => this.call<Awaited<ReturnType<LoomApi['createTasks']>>>('createTasks', i);
  updateTask = (i: Parameters<LoomApi['updateTask']>[0]) => this.call<Awaited<ReturnType<LoomApi['updateTask']>>>('updateTask', i);
  ready = (i: Parameters<LoomApi['ready']>[0]) => this.call<Awaited<ReturnType<LoomApi['ready']>>>('ready', i);
  listTasks = (i: Parameters<LoomApi['listTasks']>[0]) => this.call<Awaited<ReturnType<LoomApi['listTasks']>>>('listTasks', i);
  claim = (i: Parameters<LoomApi['claim']>[0]) => this.call<Awaited<ReturnType<LoomApi['claim']>>>('claim', i);
  heartbeat = (i: Parameters<LoomApi['heartbeat']>[0]) => this.call<Awaited<ReturnType<LoomApi['heartbeat']>>>('heartbeat', i);
  done = (i: Parameters<LoomApi['done']>[0]) => this.call<Awaited<ReturnType<LoomApi['done']>>>('done', i);
  fail = (i: Parameters<LoomApi['fail']>[0]) => this.call<Awaited<ReturnType<LoomApi['fail']>>>('fail', i);
  claimBatch = (i: Parameters<LoomApi['claimBatch']>[0]) => this.call<Awaited<ReturnType<LoomApi['claimBatch']>>>('claimBatch', i);
  doneBatch = (i: Parameters<LoomApi['doneBatch']>[0]) => this.call<Awaited<ReturnType<LoomApi['doneBatch']>>>('doneBatch', i);
  failBatch = (i: Parameters<LoomApi['failBatch']>[0]) => this.call<Awaited<ReturnType<LoomApi['failBatch']>>>('failBatch', i);
  costs = (i: Parameters<LoomApi['costs']>[0]) => this.call<Awaited<ReturnType<LoomApi['costs']>>>('costs', i);
  setBudget = (i: Parameters<LoomApi['setBudget']>[0]) => this.call<Awaited<ReturnType<LoomApi['setBudget']>>>('setBudget', i);
  budgets = (i: Parameters<LoomApi['budgets']>[0]) => this.call<Awaited<ReturnType<LoomApi['budgets']>>>('budgets', i);
  escalate = (i: Parameters<LoomApi['escalate']>[0]) => this.call<Awaited<ReturnType<LoomApi['escalate']>>>('escalate', i);
  cancel = (i: Parameters<LoomApi['cancel']>[0]) => this.call<Awaited<ReturnType<LoomApi['cancel']>>>('cancel', i);
  hold = (i: Parameters<LoomApi['hold']>[0]) => this.call<Awaited<ReturnType<LoomApi['hold']>>>('hold', i);
  resume = (i: Parameters<LoomApi['resume']>[0]) => this.call<Awaited<ReturnType<LoomApi['resume']>>>('resume', i);
  status = (i: Parameters<LoomApi['status']>[0]) => this.call<Awaited<ReturnType<LoomApi['status']>>>('status', i);
  overview = (i: Parameters<LoomApi['overview']>[0]) => this.call<Awaited<ReturnType<LoomApi['overview']>>>('overview', i);
  graph = (i: Parameters<LoomApi['graph']>[0]) => this.call<Awaited<ReturnType<LoomApi['graph']>>>('graph', i);
  events = (i: Parameters<LoomApi['events']>[0]) => this.call<Awaited<ReturnType<LoomApi['events']>>>('events', i);
  recoverLeases = (i: Parameters<LoomApi['recoverLeases']>[0]) => this.call<Awaited<ReturnType<LoomApi['recoverLeases']>>>('recoverLeases', i);
  reconcile = (i: Parameters<LoomApi['reconcile']>[0]) => this.call<Awaited<ReturnType<LoomApi['reconcile']>>>('reconcile', i);
  deadLetters = (i: Parameters<LoomApi['deadLetters']>[0]) => this.call<Awaited<ReturnType<LoomApi['deadLetters']>>>('deadLetters', i);
  redrive = (i: Parameters<LoomApi['redrive']>[0]) => this.call<Awaited<ReturnType<LoomApi['redrive']>>>('redrive', i);
  escalations = (i: Parameters<LoomApi['escalations']>[0]) => this.call<Awaited<ReturnType<LoomApi['escalations']>>>('escalations', i);
  resolveEscalation = (i: Parameters<LoomApi['resolveEscalation']>[0]) => this.call<Awaited<ReturnType<LoomApi['resolveEscalation']>>>('resolveEscalation', i);
  agents = (i: Parameters<LoomApi['agents']>[0]) => this.call<Awaited<ReturnType<LoomApi['agents']>>>('agents', i);
  release = (i: Parameters<LoomApi['release']>[0]) => this.call<Awaited<ReturnType<LoomApi['release']>>>('release', i);
  agentTasks = (i: Parameters<LoomApi['agentTasks']>[0]) => this.call<Awaited<ReturnType<LoomApi['agentTasks']>>>('agentTasks', i);
  sendMessage = (i: Parameters<LoomApi['sendMessage']>[0]) => this.call<Awaited<ReturnType<LoomApi['sendMessage']>>>('sendMessage', i);
  inbox = (i: Parameters<LoomApi['inbox']>[0]) => this.call<Awaited<ReturnType<LoomApi['inbox']>>>('inbox', i);
  fsck = (i: Parameters<LoomApi['fsck']>[0]) => this.call<Awaited<ReturnType<LoomApi['fsck']>>>('fsck', i);
  exportProject = (i: Parameters<LoomApi['exportProject']>[0]) => this.call<Awaited<ReturnType<LoomApi['exportProject']>>>('exportProject', i);
  importProject = (i: Parameters<LoomApi['importProject']>[0]) => this.call<Awaited<ReturnType<LoomApi['importProject']>>>('importProject', i);
  skills = (i: Parameters<LoomApi['skills']>[0]) => this.call<Awaited<ReturnType<LoomApi['skills']>>>('skills', i);
  skill = (i: Parameters<LoomApi['skill']>[0]) => this.call<Awaited<ReturnType<LoomApi['skill']>>>('skill', i);
  renderSkill = (i: Parameters<LoomApi['renderSkill']>[0]) => this.call<Awaited<ReturnType<LoomApi['renderSkill']>>>('renderSkill', i);
  skillStats = (i: Parameters<LoomApi['skillStats']>[0]) => this.call<Awaited<ReturnType<LoomApi['skillStats']>>>('skillStats', i);
  projects = (i: Parameters<LoomApi['projects']>[0]) => this.call<Awaited<ReturnType<LoomApi['projects']>>>('projects', i);
  removeProject = (i: Parameters<LoomApi['removeProject']>[0]) => this.call<Awaited<ReturnType<LoomApi['removeProject']>>>('removeProject', i);
  decompose = (i: Parameters<LoomApi['decompose']>[0]) => this.call<Awaited<ReturnType<LoomApi['decompose']>>>('decompose', i);
  workflows = (i: Parameters<LoomApi['workflows']>[0]) => this.call<Awaited<ReturnType<LoomApi['workflows']>>>('workflows', i);
  workflow = (i: Parameters<LoomApi['workflow']>[0]) => this.call<Awaited<ReturnType<LoomApi['workflow']>>>('workflow', i);
  runWorkflow = (i: Parameters<LoomApi['runWorkflow']>[0]) => this.call<Awaited<ReturnType<LoomApi['runWorkflow']>>>('runWorkflow', i);
  workflowRuns = (i: Parameters<LoomApi['workflowRuns']>[0]) => this.call<Awaited<ReturnType<LoomApi['workflowRuns']>>>('workflowRuns', i);
  workflowRun = (i: Parameters<LoomApi['workflowRun']>[0]) => this.call<Awaited<ReturnType<LoomApi['workflowRun']>>>('workflowRun', i);
  metrics = (i: Parameters<LoomApi['metrics']>[0]) => this.call<Awaited<ReturnType<LoomApi['metrics']>>>('metrics', i);

  async close(): Promise<void> {
    this.closes++;
    const c = this.conn === null ? null : await this.conn.catch(() => null);
    this.conn = null;
    c?.close();
  }
}

function unavailable(e: unknown): LoomError {
  return new LoomError('DAEMON_UNAVAILABLE', `cannot talk to the Loom daemon: ${(e as Error)?.message ?? e}`, {
    hint: 'see .loom/daemon.log; `loom daemon stop` then retry starts a fresh one',
    cause: e,
  });
}
