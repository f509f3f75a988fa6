import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { LoomError } from '../../domain/errors.js';
import type { GraphPictures } from '../../ports/graph-pictures.js';
import type { LoomApi } from '../../ports/loom-api.js';
import type { EventSource, ProjectContext } from '../../ports/loom-connector.js';
import { clearedCookie, DashboardAuth, sameOrigin, sessionCookie, type DashboardSession } from './dashboard-auth.js';
import { GraphSvgCache, NewestEvent, readState, readTask } from './dashboard-data.js';
import { loginPage, dashboardPage } from './dashboard-page.js';
import { streamEvents } from './dashboard-sse.js';

export const DASHBOARD_BASE = '/dashboard';
const MAX_BODY = 16 * 1024;
/** Who the dashboard's actions are recorded as (events name it). */
const DASHBOARD_AGENT = 'dashboard';

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/** The page's own files, read once; a fixed list, so no request path reaches the file system. */
const ASSETS: Record<string, { type: string; file: string }> = {
  'app.js': { type: 'text/javascript; charset=utf-8', file: 'app.js' },
  'app.css': { type: 'text/css; charset=utf-8', file: 'app.css' },
};

export interface DashboardOptions {
  api: LoomApi;
  events: EventSource;
  project: ProjectContext;
  pictures: GraphPictures;
  /** What a browser must present once: the random token of `loom dashboard`, or the `loom serve` bearer token (null: named tokens only). */
  secret: string | null;
  /** More secrets, by their SHA-256 (hex): the named tokens of `loom serve` (serve.tokens). */
  secretHashes?: readonly string[];
  /** Accept the secret as `?token=` on the page URL (`loom dashboard` prints such a URL); otherwise only the login form. */
  tokenInUrl: boolean;
  /** Tells what happened, never with a token or cookie in it. */
  log?: (line: string) => void;
  heartbeatMs?: number;
  /** Pictures of this many nodes or more are laid out in layers, not by Graphviz (default LAYERED_FROM, 1,000). */
  layeredFrom?: number;
}

export interface Dashboard {
  /** Whether a path is the dashboard's. */
  owns(url: string | undefined): boolean;
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** Ends open event streams. */
  close(): void;
  /** New secrets (a config reload of `loom serve`): every browser session and event stream ends; they sign in again. */
  setSecrets(secret: string | null, hashes: readonly string[]): void;
}

interface HttpError {
  code: string;
  message: string;
  hint?: string;
}

const ajv = new Ajv({ allErrors: false, strict: true });
const text = (max: number) => ({ type: 'string', maxLength: max, pattern: '^[^\\u0000]*$' }) as const;
const validResolve = ajv.compile({
  type: 'object',
  additionalProperties: false,
  required: ['escalation_id', 'action'],
  properties: {
    escalation_id: { type: 'string', pattern: '^esc-[0-9a-f]{12}$' },
    action: { enum: ['retry', 'cancel', 'done', 'unblock'] },
    note: text(2000),
  },
});
const validRedrive = ajv.compile({
  type: 'object',
  additionalProperties: false,
  required: ['task_id'],
  properties: { task_id: { type: 'string', pattern: '^loom-[0-9a-f]{8}$' } },
});
const EPIC = /^loom-[0-9a-f]{8}$/;

/**
 * The live dashboard: one page, its two files, and a small JSON and SSE API
 * under /dashboard, for `loom dashboard` (its own server) and `loom serve`
 * (beside /mcp). Reads and actions go through the LoomApi, so they are
 * validated and refused exactly as the CLI's are.
 */
export function createDashboard(o: DashboardOptions): Dashboard {
  const auth = new DashboardAuth(o.secret, undefined, o.secretHashes);
  const log = o.log ?? (() => {});
  const projectId = o.project.project_id;
  const newest = new NewestEvent(o.api, projectId);
  const svgs = new GraphSvgCache(o.api, o.pictures, o.layeredFrom);
  const assets = loadAssets();
  const streams = new Set<ServerResponse>();
  // Lay the graph out once before anyone asks: the first page then draws it at once.
  svgs.svg(projectId, undefined).catch(() => undefined);

  const owns = (url: string | undefined): boolean => {
    const path = pathOf(url);
    return path === DASHBOARD_BASE || path.startsWith(`${DASHBOARD_BASE}/`);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://dashboard.invalid');
    const path = url.pathname.slice(DASHBOARD_BASE.length);
    const method = req.method ?? 'GET';
    if (path === '') return redirect(res, `${DASHBOARD_BASE}/`);

    if (path.startsWith('/assets/')) {
      if (method !== 'GET' && method !== 'HEAD') return notAllowed(res, 'GET');
      const asset = Object.hasOwn(assets, path.slice('/assets/'.length)) ? assets[path.slice('/assets/'.length)] : undefined;
      if (asset === undefined) return json(res, 404, { code: 'NOT_FOUND', message: 'no such file' });
      res.writeHead(200, { ...SECURITY_HEADERS, 'cache-control': 'no-cache', 'content-type': asset.type, 'content-length': String(asset.body.length) });
      res.end(method === 'HEAD' ? undefined : asset.body);
      return;
    }

    if (path === '/login') {
      if (method === 'GET') return html(res, 200, loginPage(DASHBOARD_BASE, null));
      if (method !== 'POST') return notAllowed(res, 'GET, POST');
      // A login from another site would put the victim in the attacker's session: same origin only.
      if (!sameOrigin(req)) return json(res, 403, { code: 'CSRF_REFUSED', message: 'the login form must be sent from this page' });
      const body = await readBody(req, res);
      if (body === null) return;
      const token = new URLSearchParams(body).get('token') ?? undefined;
      if (!auth.matches(token)) {
        log('dashboard: a login with a wrong token was refused');
        return html(res, 401, loginPage(DASHBOARD_BASE, 'That is not the token.'));
      }
      return signIn(res);
    }

    if (path === '/') {
      if (method !== 'GET' && method !== 'HEAD') return notAllowed(res, 'GET');
      const offered = url.searchParams.get('token');
      if (offered !== null && o.tokenInUrl) {
        // Exchanged at once for a cookie, and the address without it replaces this one in the history.
        if (auth.matches(offered)) return signIn(res);
        log('dashboard: a wrong token in the address was refused');
        return html(res, 401, loginPage(DASHBOARD_BASE, 'That link holds a wrong or old token.'));
      }
      const session = auth.session(req);
      if (session === null) return html(res, 401, loginPage(DASHBOARD_BASE, null));
      return html(res, 200, dashboardPage({ base: DASHBOARD_BASE, csrf: session.csrf, projectId }));
    }

    if (!path.startsWith('/api/')) return json(res, 404, { code: 'NOT_FOUND', message: `nothing is served at ${url.pathname}`, hint: `the dashboard is at ${DASHBOARD_BASE}/` });

    const session = auth.session(req);
    const bearer = session === null && auth.bearer(req);
    if (session === null && !bearer) {
      return json(res, 401, { code: 'UNAUTHORIZED', message: 'sign in first', hint: `open ${DASHBOARD_BASE}/ and give the token, or send "Authorization: Bearer <token>"` }, { 'www-authenticate': 'Bearer realm="loom"' });
    }
    const route = path.slice('/api'.length);
    switch (route) {
      case '/state':
        if (method !== 'GET') return notAllowed(res, 'GET');
        return json(res, 200, await readState(o.api, projectId, newest, () => new Date()));
      case '/task': {
        if (method !== 'GET') return notAllowed(res, 'GET');
        const id = url.searchParams.get('id') ?? '';
        if (!EPIC.test(id)) return json(res, 400, { code: 'VALIDATION_FAILED', message: 'id must be a task id (loom-xxxxxxxx)' });
        return json(res, 200, await readTask(o.api, projectId, id));
      }
      case '/graph.svg': {
        if (method !== 'GET') return notAllowed(res, 'GET');
        const epic = url.searchParams.get('epic') ?? undefined;
        if (epic !== undefined && !EPIC.test(epic)) return json(res, 400, { code: 'VALIDATION_FAILED', message: 'epic must be a task id (loom-xxxxxxxx)' });
        const svg = await svgs.svg(projectId, epic);
        res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': 'image/svg+xml; charset=utf-8', 'content-length': String(Buffer.byteLength(svg)) });
        res.end(svg);
        return;
      }
      case '/events': {
        if (method !== 'GET') return notAllowed(res, 'GET');
        const since = resumePoint(req.headers['last-event-id'], url.searchParams.get('since'));
        if (since === null) return json(res, 400, { code: 'VALIDATION_FAILED', message: 'Last-Event-ID and since must be event ids (whole numbers)' });
        streams.add(res);
        res.once('close', () => streams.delete(res));
        for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
        return streamEvents(req, res, { api: o.api, events: o.events, project: o.project, newest, since, ...(o.heartbeatMs === undefined ? {} : { heartbeatMs: o.heartbeatMs }) });
      }
      case '/resolve':
      case '/redrive':
      case '/logout': {
        if (method !== 'POST') return notAllowed(res, 'POST');
        if (session !== null && !csrfPassed(req, session)) {
          return json(res, 403, { code: 'CSRF_REFUSED', message: 'an action needs this page\'s CSRF token and origin', hint: 'reload the dashboard and try again' });
        }
        if (route === '/logout') {
          auth.close(req);
          res.setHeader('set-cookie', clearedCookie(DASHBOARD_BASE));
          return json(res, 200, { ok: true });
        }
        const type = String(req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
        if (type !== 'application/json') return json(res, 415, { code: 'VALIDATION_FAILED', message: 'send the action as application/json' });
        const raw = await readBody(req, res);
        if (raw === null) return;
        let body: unknown;
        try {
          body = JSON.parse(raw);
        } catch {
          return json(res, 400, { code: 'INVALID_JSON', message: 'the request body is not JSON' });
        }
        if (route === '/resolve') {
          if (!validResolve(body)) return json(res, 400, { code: 'VALIDATION_FAILED', message: `resolve: ${ajv.errorsText(validResolve.errors)}` });
          const b = body as { escalation_id: string; action: 'retry' | 'cancel' | 'done' | 'unblock'; note?: string };
          const r = await o.api.resolveEscalation({ project_id: projectId, escalation_id: b.escalation_id, action: b.action, agent_id: DASHBOARD_AGENT, ...(b.note === undefined || b.note === '' ? {} : { note: b.note }) });
          log(`dashboard: escalation ${r.escalation.id} resolved (${b.action}); task ${r.task.id} is ${r.task.status}`);
          return json(res, 200, { escalation_id: r.escalation.id, task_id: r.task.id, status: r.task.status });
        }
        if (!validRedrive(body)) return json(res, 400, { code: 'VALIDATION_FAILED', message: `redrive: ${ajv.errorsText(validRedrive.errors)}` });
        const r = await o.api.redrive({ project_id: projectId, task_id: (body as { task_id: string }).task_id, agent_id: DASHBOARD_AGENT });
        log(`dashboard: redrove ${r.redriven.join(', ') || 'nothing'}`);
        return json(res, 200, r);
      }
      default:
        return json(res, 404, { code: 'NOT_FOUND', message: `nothing is served at ${url.pathname}` });
    }
  };

  const signIn = (res: ServerResponse): void => {
    const session = auth.open();
    log('dashboard: a browser signed in');
    res.setHeader('set-cookie', sessionCookie(session, DASHBOARD_BASE));
    redirect(res, `${DASHBOARD_BASE}/`, 303);
  };

  const csrfPassed = (req: IncomingMessage, session: DashboardSession): boolean => sameOrigin(req) && auth.csrfOk(session, req.headers['x-loom-csrf']);

  return {
    owns,
    async handle(req, res) {
      try {
        await handle(req, res);
      } catch (error) {
        if (LoomError.is(error)) return json(res, statusOf(error.code), { code: error.code, message: error.message, ...(error.hint === undefined ? {} : { hint: error.hint }) });
        log(`dashboard: internal error on ${req.method} ${pathOf(req.url)}: ${error instanceof Error ? error.message : String(error)}`);
        json(res, 500, { code: 'INTERNAL', message: 'an unexpected error; the server log has the details' });
      }
    },
    close() {
      for (const s of streams) s.destroy();
      streams.clear();
    },
    setSecrets(secret, hashes) {
      auth.reset(secret, hashes);
      for (const s of streams) s.destroy();
      streams.clear();
    },
  };
}

/** `loom dashboard`'s own server: the dashboard, and a redirect to it from /. */
export function createDashboardServer(dashboard: Dashboard): { listen(port: number, host: string): Promise<{ host: string; port: number }>; close(): Promise<void> } {
  const server = createServer((req, res) => {
    if (dashboard.owns(req.url)) return void dashboard.handle(req, res);
    if (pathOf(req.url) === '/' && (req.method === 'GET' || req.method === 'HEAD')) return redirect(res, `${DASHBOARD_BASE}/`);
    json(res, 404, { code: 'NOT_FOUND', message: `nothing is served at ${pathOf(req.url)}`, hint: `the dashboard is at ${DASHBOARD_BASE}/` });
  });
  server.requestTimeout = 30_000;
  return {
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          const a = server.address() as AddressInfo;
          resolve({ host: a.address, port: a.port });
        });
      }),
    close: () =>
      new Promise((resolve) => {
        dashboard.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const pathOf = (url: string | undefined): string => (url ?? '/').split('?')[0]!;

function statusOf(code: string): number {
  if (code === 'VALIDATION_FAILED') return 400;
  if (code.endsWith('_NOT_FOUND')) return 404;
  if (code === 'DATABASE_UNAVAILABLE' || code === 'DAEMON_UNAVAILABLE') return 503;
  if (code === 'GRAPH_TOO_LARGE') return 413;
  if (code === 'INTERNAL') return 500;
  return 409;
}

/** Where a stream resumes: the browser's Last-Event-ID on a reconnect, else `?since=`, else 0; null when malformed. */
function resumePoint(header: string | string[] | undefined, query: string | null): number | null {
  const given = typeof header === 'string' && header !== '' ? header : query;
  if (given === null || given === '') return 0;
  if (!/^\d{1,15}$/.test(given)) return null;
  return Number(given);
}

function loadAssets(): Record<string, { type: string; body: Buffer }> {
  const dir = assetsDir();
  const out: Record<string, { type: string; body: Buffer }> = Object.create(null);
  for (const [name, a] of Object.entries(ASSETS)) out[name] = { type: a.type, body: readFileSync(join(dir, a.file)) };
  return out;
}

/** The page's files ship as they are, in src/adapters/dashboard/assets (from dist/ too: no build step). */
function assetsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  const here = join(dir, 'assets');
  try {
    readFileSync(join(here, 'app.js'));
    return here;
  } catch {
    for (let i = 0; i < 8; i++) {
      dir = dirname(dir);
      try {
        readFileSync(join(dir, 'package.json'));
        return join(dir, 'src', 'adapters', 'dashboard', 'assets');
      } catch {
        // keep looking
      }
    }
    throw new LoomError('INTERNAL', 'the dashboard files are missing from this installation', { hint: 'reinstall loom-agents' });
  }
}

function readBody(req: IncomingMessage, res: ServerResponse): Promise<string | null> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > MAX_BODY) {
    json(res, 413, { code: 'PAYLOAD_TOO_LARGE', message: `the request body is over ${MAX_BODY} bytes` }, { connection: 'close' });
    return Promise.resolve(null);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (c: Buffer): void => {
      size += c.length;
      if (size > MAX_BODY) {
        req.off('data', onData);
        req.pause();
        json(res, 413, { code: 'PAYLOAD_TOO_LARGE', message: `the request body is over ${MAX_BODY} bytes` }, { connection: 'close' });
        resolve(null);
        return;
      }
      chunks.push(c);
    };
    req.on('data', onData);
    req.once('end', () => {
      if (size <= MAX_BODY) resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.once('error', reject);
  });
}

function json(res: ServerResponse, status: number, body: HttpError | object, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const t = JSON.stringify(body);
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'application/json; charset=utf-8', 'content-length': String(Buffer.byteLength(t)), ...headers });
  res.end(t);
}

function html(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'text/html; charset=utf-8', 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
}

function redirect(res: ServerResponse, location: string, status = 302): void {
  res.writeHead(status, { ...SECURITY_HEADERS, location, 'content-length': '0' });
  res.end();
}

function notAllowed(res: ServerResponse, allow: string): void {
  json(res, 405, { code: 'METHOD_NOT_ALLOWED', message: `use ${allow} here` }, { allow });
}
