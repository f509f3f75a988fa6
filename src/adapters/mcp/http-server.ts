import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isInitializeRequest } from '#mcp-sdk';
import { StreamableHTTPServerTransport } from '#mcp-sdk-http';
import { LoomError } from '../../domain/errors.js';
import type { LoomApi } from '../../ports/loom-api.js';
import type { EventSource, ProjectContext } from '../../ports/loom-connector.js';
import type { ToolLatency } from '../../ports/tool-latency.js';
import { createLoomMcpServer, type LoomMcpServer } from './loom-mcp-server.js';

export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;
const DEFAULT_SESSION_IDLE_MS = 60 * 60 * 1000;
const DEFAULT_SHUTDOWN_GRACE_MS = 4_000;
const PROJECT_PATH = /^\/projects\/([^/]+)\/mcp$/;
const PROJECT_METRICS_PATH = /^\/projects\/([^/]+)\/metrics$/;
const PROJECT_ID = /^[a-z0-9][a-z0-9_-]{0,99}$/;
const BEARER = /^Bearer +([!-~]+) *$/i;

export interface LoomHttpServerOptions {
  api: LoomApi;
  events: EventSource;
  /** The project served at `/mcp`; others of the same database are at `/projects/<id>/mcp`. */
  project: ProjectContext;
  /** The bearer token (null: only named tokens); every request must carry it or one of `tokens`. */
  token: string | null;
  /** Named tokens, by their SHA-256 (hex): one per person or machine. A session stays with the name that opened it. */
  tokens?: ReadonlyArray<{ name: string; sha256: string }>;
  version: string;
  toolGroups?: string[];
  log?: (line: string) => void;
  /** Runs once per project other than `project`, before its first session is served (its start-up tick). */
  prepareProject?: (projectId: string) => Promise<void>;
  /** Largest POST body read (default 4 MiB); larger ones get 413 unread. */
  maxBodyBytes?: number;
  /** A session with no request and no open stream for this long is closed (default 1 h). */
  sessionIdleMs?: number;
  /** How long close() waits for calls in flight (default 4 s). */
  shutdownGraceMs?: number;
  /** Told how long each tool call of every session took. */
  toolLatency?: ToolLatency;
  /**
   * The Prometheus exposition of a project, served at GET /metrics (this
   * project) and /projects/<id>/metrics, behind the same bearer token.
   */
  metrics?: (projectId: string) => Promise<{ contentType: string; body: string }>;
  /**
   * Other pages served beside /mcp (the dashboard), which check the token
   * themselves: a browser cannot send a bearer header, so they sign in with it.
   */
  pages?: HttpPages;
}

/** Routes handled by another part of the server, with their own authentication. */
export interface HttpPages {
  owns(url: string | undefined): boolean;
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  close(): void;
}

export interface HttpSessionInfo {
  session_id: string;
  project_id: string;
  agent_id: string;
  opened_at: string;
}

export interface LoomHttpServer {
  /** Starts listening; resolves with the bound address (port 0: a free one). */
  listen(port: number, host: string): Promise<{ host: string; port: number }>;
  /** The open sessions. */
  sessions(): HttpSessionInfo[];
  /** Sessions opened since start. */
  readonly opened: number;
  /** Tells every open session that the prompt list changed (a skill file changed). */
  promptsChanged(): void;
  /**
   * Replaces the accepted tokens (a config reload): from the next request on only these are taken, and every
   * session opened with a token no longer accepted (its name gone, or its hash changed) is closed. Gives their number.
   */
  setTokens(token: string | null, tokens: ReadonlyArray<{ name: string; sha256: string }>): number;
  /** Refuses new requests, lets calls in flight finish (up to the grace), closes every session and connection. */
  close(): Promise<void>;
}

/** The body of every answer this layer gives itself (the SDK's own answers are JSON-RPC errors). */
interface HttpError {
  code: string;
  message: string;
  hint?: string;
}

interface Session {
  id: string;
  project_id: string;
  /** The name of the token that opened it (`token`: the unnamed one); requests with another get SESSION_NOT_FOUND. */
  token_name: string;
  /** That token's hash (hex): a reload that changes it closes the session. */
  token_hash: string;
  transport: StreamableHTTPServerTransport;
  mcp: LoomMcpServer;
  opened_at: string;
  last_seen: number;
  /** Requests of this session not yet answered in full (an open GET stream counts). */
  active: number;
}

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

/**
 * MCP over Streamable HTTP for a shared team server, on plain node:http:
 * one SDK transport and one Loom MCP server per session, each session bound
 * to the project of the path it was initialized on. Every request is checked
 * against the bearer token before anything else (its body is not read, no
 * session is looked up), in constant time.
 */
export function createLoomHttpServer(o: LoomHttpServerOptions): LoomHttpServer {
  const log = o.log ?? (() => {});
  const maxBody = o.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const idleMs = o.sessionIdleMs ?? DEFAULT_SESSION_IDLE_MS;
  /** Every accepted token's hash, with its name; at least one (a server without a token does not start). */
  const accepted = (token: string | null, tokens: ReadonlyArray<{ name: string; sha256: string }>): Array<{ name: string; hash: Buffer }> => {
    const list = [...(token === null ? [] : [{ name: 'token', hash: sha256(token) }]), ...tokens.map((t) => ({ name: t.name, hash: Buffer.from(t.sha256, 'hex') }))];
    if (list.length === 0) throw new Error('createLoomHttpServer needs a token or named tokens');
    return list;
  };
  let expected = accepted(o.token, o.tokens ?? []);
  const sessions = new Map<string, Session>();
  const known = new Map<string, Promise<ProjectContext>>([[o.project.project_id, Promise.resolve(o.project)]]);
  /** POSTs not yet answered in full: close() waits for them. */
  const inFlight = new Set<ServerResponse>();
  let opened = 0;
  let stopping = false;

  /** The name and hash of the token a request carries, or null. */
  const authorized = (header: string | undefined): { name: string; hash: string } | null => {
    const match = header === undefined ? null : BEARER.exec(header);
    // Hashing gives equal lengths; every entry is compared, whatever was sent and whichever matches.
    const sent = sha256(match?.[1] ?? '');
    let found: { name: string; hash: string } | null = null;
    for (const e of expected) if (timingSafeEqual(sent, e.hash) && found === null) found = { name: e.name, hash: e.hash.toString('hex') };
    return match === null ? null : found;
  };

  /** The project of a path: the served one at /mcp, another at /projects/<id>/mcp; null for any other path. */
  const route = (url: string | undefined): string | null => {
    const path = (url ?? '/').split('?')[0]!;
    if (path === '/mcp') return o.project.project_id;
    const m = PROJECT_PATH.exec(path);
    if (m === null) return null;
    let id: string;
    try {
      id = decodeURIComponent(m[1]!);
    } catch {
      return null;
    }
    return PROJECT_ID.test(id) ? id : null;
  };

  /** The project of a metrics path: the served one at /metrics, another at /projects/<id>/metrics; null for any other path. */
  const metricsRoute = (url: string | undefined): string | null => {
    const path = (url ?? '/').split('?')[0]!;
    if (path === '/metrics') return o.project.project_id;
    const m = PROJECT_METRICS_PATH.exec(path);
    if (m === null) return null;
    try {
      const id = decodeURIComponent(m[1]!);
      return PROJECT_ID.test(id) ? id : null;
    } catch {
      return null;
    }
  };

  /** The project's context, checked to exist (and prepared) once per project. */
  const projectOf = (projectId: string): Promise<ProjectContext> => {
    let p = known.get(projectId);
    if (p === undefined) {
      p = (async () => {
        await o.api.getProject({ project_id: projectId });
        await o.prepareProject?.(projectId);
        return { ...o.project, project_id: projectId };
      })();
      known.set(projectId, p);
      p.catch(() => known.delete(projectId)); // not found now may exist later
    }
    return p;
  };

  const openSession = async (project: ProjectContext, token: { name: string; hash: string }, req: IncomingMessage, res: ServerResponse, body: unknown): Promise<void> => {
    const session: Session = {
      id: '',
      project_id: project.project_id,
      token_name: token.name,
      token_hash: token.hash,
      transport: new StreamableHTTPServerTransport({
        sessionIdGenerator: randomUUID,
        maxRequestBodySize: maxBody,
        onsessioninitialized: (id) => {
          session.id = id;
          sessions.set(id, session);
          opened++;
        },
      }),
      mcp: createLoomMcpServer({
        api: o.api,
        events: o.events,
        project,
        version: o.version,
        log,
        ...(o.toolGroups === undefined ? {} : { toolGroups: o.toolGroups }),
        ...(o.toolLatency === undefined ? {} : { toolLatency: o.toolLatency }),
      }),
      opened_at: new Date().toISOString(),
      last_seen: Date.now(),
      active: 0,
    };
    session.transport.onclose = () => {
      if (session.id !== '' && sessions.get(session.id) === session) {
        sessions.delete(session.id);
        log(`session ${short(session.id)} closed (project ${session.project_id}, agent ${session.mcp.session.agentId})`);
      }
    };
    const own = session.mcp.server.oninitialized;
    session.mcp.server.oninitialized = () => {
      own?.();
      log(`session ${short(session.id)} opened (project ${session.project_id}, agent ${session.mcp.session.agentId}${session.token_name === 'token' ? '' : `, token ${session.token_name}`})`);
    };
    await session.mcp.server.connect(session.transport);
    try {
      await handle(session, req, res, body);
    } finally {
      // The SDK refused the initialize (say, an unsupported protocol version): nothing to keep.
      if (session.transport.sessionId === undefined) await session.mcp.close().catch(() => undefined);
    }
  };

  const handle = async (session: Session, req: IncomingMessage, res: ServerResponse, body?: unknown): Promise<void> => {
    session.active++;
    session.last_seen = Date.now();
    res.once('close', () => {
      session.active--;
      session.last_seen = Date.now();
    });
    await session.transport.handleRequest(req, res, body);
  };

  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (o.pages?.owns(req.url) === true && !stopping) return o.pages.handle(req, res);
    const token = authorized(req.headers.authorization);
    if (token === null) {
      return reply(res, 401, {
        code: 'UNAUTHORIZED',
        message: 'missing or wrong bearer token',
        hint: 'send "Authorization: Bearer <token>" with a token this server accepts (LOOM_TOKEN or serve.token where it runs, or your own of serve.tokens)',
      }, { 'www-authenticate': 'Bearer realm="loom"' }, true);
    }
    if (stopping) return reply(res, 503, { code: 'SHUTTING_DOWN', message: 'the server is stopping', hint: 'connect again once it is back' }, {}, true);
    const metricsOf = o.metrics === undefined ? null : metricsRoute(req.url);
    if (metricsOf !== null) {
      if (req.method !== 'GET') return reply(res, 405, { code: 'METHOD_NOT_ALLOWED', message: `${req.method ?? '?'} is not allowed here`, hint: 'scrape with GET' }, { allow: 'GET' });
      const { contentType, body } = await o.metrics!(metricsOf);
      res.writeHead(200, { 'content-type': contentType, 'content-length': String(Buffer.byteLength(body)), 'cache-control': 'no-store' });
      res.end(body);
      return;
    }
    const projectId = route(req.url);
    if (projectId === null) {
      return reply(res, 404, {
        code: 'NOT_FOUND',
        message: `nothing is served at ${(req.url ?? '/').split('?')[0]}`,
        hint:
          'MCP is served at /mcp (this project) and /projects/<project_id>/mcp (another project of the same database)' +
          (o.metrics === undefined ? '' : '; Prometheus metrics at /metrics and /projects/<project_id>/metrics'),
      });
    }
    if (req.method !== 'POST' && req.method !== 'GET' && req.method !== 'DELETE') {
      return reply(res, 405, { code: 'METHOD_NOT_ALLOWED', message: `${req.method ?? '?'} is not allowed here`, hint: 'MCP uses POST, GET and DELETE' }, { allow: 'GET, POST, DELETE' });
    }

    const header = req.headers['mcp-session-id'];
    if (header !== undefined) {
      const id = Array.isArray(header) ? header[0]! : header;
      const session = sessions.get(id);
      // A session belongs to the project it was opened on, and to the token that opened it: elsewhere it does not exist.
      if (session === undefined || session.project_id !== projectId || session.token_name !== token.name) {
        return reply(res, 404, {
          code: 'SESSION_NOT_FOUND',
          message: `no session ${id} for project ${projectId}`,
          hint: 'initialize a new session on this endpoint; a session belongs to the project it was opened on',
        });
      }
      if (req.method !== 'POST') return handle(session, req, res);
      const body = await readJson(req, res, maxBody);
      if (body === NO_BODY) return;
      inFlight.add(res);
      res.once('close', () => inFlight.delete(res));
      return handle(session, req, res, body);
    }

    const project = await projectOf(projectId);
    if (req.method !== 'POST') {
      return reply(res, 400, {
        code: 'SESSION_REQUIRED',
        message: `${req.method} needs an mcp-session-id header`,
        hint: 'open a session first: POST an initialize request',
      });
    }
    const body = await readJson(req, res, maxBody);
    if (body === NO_BODY) return;
    if (!isInitializeRequest(body)) {
      return reply(res, 400, {
        code: 'SESSION_REQUIRED',
        message: 'no mcp-session-id header, and the request is not an initialize request',
        hint: 'open a session first: POST an initialize request, then send its mcp-session-id with every request',
      });
    }
    inFlight.add(res);
    res.once('close', () => inFlight.delete(res));
    await openSession(project, token, req, res, body);
  };

  const server = createServer((req, res) => {
    serve(req, res).catch((error: unknown) => {
      if (LoomError.is(error)) {
        const status = error.code === 'PROJECT_NOT_FOUND' ? 404 : error.code === 'DATABASE_UNAVAILABLE' || error.code === 'DAEMON_UNAVAILABLE' ? 503 : 500;
        return reply(res, status, { code: error.code, message: error.message, ...(error.hint === undefined ? {} : { hint: error.hint }) });
      }
      log(`internal error on ${req.method} ${req.url}: ${error instanceof Error ? error.message : String(error)}`);
      reply(res, 500, { code: 'INTERNAL', message: 'an unexpected error; the server log has the details' });
    });
  });

  const sweep = setInterval(() => {
    const now = Date.now();
    for (const s of sessions.values()) {
      if (s.active === 0 && now - s.last_seen > idleMs) {
        log(`session ${short(s.id)} idle for ${Math.round((now - s.last_seen) / 1000)} s: closing it`);
        void s.mcp.close().catch(() => undefined);
      }
    }
  }, Math.max(10, Math.min(60_000, Math.floor(idleMs / 2))));
  sweep.unref();

  let listening = false;
  let closing: Promise<void> | undefined;

  return {
    listen(port, host) {
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          listening = true;
          const a = server.address() as AddressInfo;
          resolve({ host: a.address, port: a.port });
        });
      });
    },
    sessions: () =>
      [...sessions.values()].map((s) => ({ session_id: s.id, project_id: s.project_id, agent_id: s.mcp.session.agentId, opened_at: s.opened_at })),
    get opened() {
      return opened;
    },
    promptsChanged() {
      for (const s of sessions.values()) s.mcp.promptsChanged();
    },
    setTokens(token, tokens) {
      expected = accepted(token, tokens);
      const still = new Set(expected.map((e) => `${e.name}\u0000${e.hash.toString('hex')}`));
      let closed = 0;
      for (const s of [...sessions.values()]) {
        if (still.has(`${s.token_name}\u0000${s.token_hash}`)) continue;
        closed++;
        log(`session ${short(s.id)} closed: its token (${s.token_name}) is no longer accepted`);
        void s.mcp.close().catch(() => undefined);
      }
      return closed;
    },
    close() {
      closing ??= (async () => {
        stopping = true;
        clearInterval(sweep);
        o.pages?.close();
        const stopped = listening ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
        const deadline = Date.now() + (o.shutdownGraceMs ?? DEFAULT_SHUTDOWN_GRACE_MS);
        while (inFlight.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        await Promise.all([...sessions.values()].map((s) => s.mcp.close().catch(() => undefined)));
        server.closeAllConnections();
        await stopped;
      })();
      return closing;
    },
  };
}

const short = (id: string): string => id.slice(0, 8);

const NO_BODY = Symbol('no body');

/** The request's JSON body, or NO_BODY once a 413 or 400 has been sent. */
function readJson(req: IncomingMessage, res: ServerResponse, limit: number): Promise<unknown> {
  const tooLarge = (): void =>
    reply(res, 413, { code: 'PAYLOAD_TOO_LARGE', message: `the request body is over ${limit} bytes`, hint: 'send smaller requests' }, {}, true);
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    tooLarge();
    return Promise.resolve(NO_BODY);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData);
        req.off('end', onEnd);
        req.pause();
        tooLarge();
        resolve(NO_BODY);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reply(res, 400, { code: 'INVALID_JSON', message: 'the request body is not JSON', hint: 'send one JSON-RPC message (or a batch) as JSON' });
        resolve(NO_BODY);
      }
    };
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', reject);
  });
}

/** A JSON answer; `close` ends the connection after it (an unread body is never drained). */
function reply(res: ServerResponse, status: number, body: HttpError, headers: Record<string, string> = {}, close = false): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': String(Buffer.byteLength(text)),
    ...(close ? { connection: 'close' } : {}),
    ...headers,
  });
  res.end(text);
}
