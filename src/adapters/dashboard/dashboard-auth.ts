import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const COOKIE = 'loom_dashboard';
const SESSION_TTL_MS = 12 * 60 * 60 * 1000;
const MAX_SESSIONS = 1000;
const BEARER = /^Bearer +([!-~]+) *$/i;

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

export interface DashboardSession {
  id: string;
  /** Sent by the page in `x-loom-csrf` with every action. */
  csrf: string;
  expires: number;
}

/**
 * Who may see the dashboard: the holder of the secret (the random token of
 * `loom dashboard`, or the bearer token of `loom serve`), who exchanges it
 * once for a session cookie (HttpOnly, SameSite=Strict). Sessions live in
 * this process's memory, bounded in number and age; every comparison runs in
 * constant time.
 */
export class DashboardAuth {
  private expected: Buffer[] = [];
  private readonly sessions = new Map<string, DashboardSession>();

  /** `hashes`: more secrets by their SHA-256 (hex), the named tokens of `loom serve`. */
  constructor(secret: string | null, private readonly now: () => number = Date.now, hashes: readonly string[] = []) {
    this.reset(secret, hashes);
  }

  /** New secrets (a config reload): every session ends, so a browser signed in with a revoked token is out. */
  reset(secret: string | null, hashes: readonly string[] = []): void {
    const expected = [...(secret === null ? [] : [sha256(secret)]), ...hashes.map((h) => Buffer.from(h, 'hex'))];
    if (expected.length === 0) throw new Error('DashboardAuth needs a secret');
    this.expected = expected;
    this.sessions.clear();
  }

  /** Whether `candidate` is a secret (hashing gives equal lengths; every one is compared, whichever matches). */
  matches(candidate: string | undefined): boolean {
    const sent = sha256(candidate ?? '');
    let same = false;
    for (const e of this.expected) same = timingSafeEqual(sent, e) || same;
    return candidate !== undefined && candidate !== '' && same;
  }

  /** A new session for a holder of the secret; the oldest is dropped past the bound. */
  open(): DashboardSession {
    this.sweep();
    if (this.sessions.size >= MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
    const s: DashboardSession = { id: randomBytes(32).toString('hex'), csrf: randomBytes(32).toString('hex'), expires: this.now() + SESSION_TTL_MS };
    this.sessions.set(s.id, s);
    return s;
  }

  /** The session of a request's cookie, or null. */
  session(req: IncomingMessage): DashboardSession | null {
    const id = readCookie(req.headers.cookie, COOKIE);
    if (id === null || !/^[0-9a-f]{64}$/.test(id)) return null;
    const s = this.sessions.get(id);
    if (s === undefined || s.expires < this.now()) return null;
    return s;
  }

  /** A request carrying the secret as `Authorization: Bearer` (scripts, curl): no cookie, so no CSRF risk. */
  bearer(req: IncomingMessage): boolean {
    const header = req.headers.authorization;
    if (header === undefined) return false;
    const m = BEARER.exec(header);
    return this.matches(m?.[1]);
  }

  close(req: IncomingMessage): void {
    const s = this.session(req);
    if (s !== null) this.sessions.delete(s.id);
  }

  /** Constant-time check of the CSRF header against the session's. */
  csrfOk(session: DashboardSession, header: string | string[] | undefined): boolean {
    const sent = typeof header === 'string' ? header : '';
    return timingSafeEqual(sha256(sent), sha256(session.csrf)) && sent !== '';
  }

  private sweep(): void {
    const t = this.now();
    for (const [id, s] of this.sessions) if (s.expires < t) this.sessions.delete(id);
  }
}

export function sessionCookie(s: DashboardSession, path: string): string {
  return `${COOKIE}=${s.id}; Path=${path}; HttpOnly; SameSite=Strict; Max-Age=${Math.floor(SESSION_TTL_MS / 1000)}`;
}

export const clearedCookie = (path: string): string => `${COOKIE}=; Path=${path}; HttpOnly; SameSite=Strict; Max-Age=0`;

function readCookie(header: string | undefined, name: string): string | null {
  if (header === undefined || header.length > 8192) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/**
 * A same-origin browser request: its Origin (sent by browsers with every
 * POST) names the host it was sent to. Checked with the CSRF header on
 * every action.
 */
export function sameOrigin(req: IncomingMessage): boolean {
  const origin = req.headers.origin;
  const host = req.headers.host;
  if (typeof origin !== 'string' || typeof host !== 'string') return false;
  return origin === `http://${host}` || origin === `https://${host}`;
}
