/**
 * The dashboard's HTTP side, against the built binary: `loom dashboard` on
 * the embedded store (the one-time token swapped for a cookie, security
 * headers, CSRF and Origin on actions, hostile bodies answered with codes,
 * the event stream resuming from Last-Event-ID, no lease token anywhere),
 * and `/dashboard` on `loom serve` in server mode (real Postgres) behind its
 * bearer token through the login form.
 */
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { LoomProcess } from '../support/dashboard-process.js';
import { loom, loomJson } from '../support/loom-cli.js';

/** A request sent as written (no URL normalisation), with its status, headers and body. */
function raw(origin: string, path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const u = new URL(origin);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, path, method: init.method ?? 'GET', headers: init.headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    if (init.body !== undefined) req.write(init.body);
    req.end();
  });
}

/** Reads the event stream until `enough` holds for what arrived, then hangs up. */
function readStream(origin: string, path: string, headers: Record<string, string>, enough: (text: string) => boolean): Promise<string> {
  const u = new URL(origin);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`the stream did not bring what was expected; got:\n${text}`));
    }, 60_000);
    let text = '';
    const req = request({ host: u.hostname, port: u.port, path, headers }, (res) => {
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toContain('text/event-stream');
      res.on('data', (c: Buffer) => {
        text += c.toString();
        if (enough(text)) {
          clearTimeout(timer);
          req.destroy();
          resolve(text);
        }
      });
    });
    req.on('error', (e) => {
      if (!text) reject(e);
    });
    req.end();
  });
}

const ids = (text: string): number[] => [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));

describe('loom dashboard (embedded)', () => {
  let dir: string;
  let proc: LoomProcess;
  let origin: string;
  let url: string;
  let cookie: string;
  let csrf: string;
  let lease: string;
  const t: Record<string, string> = {};

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'loom-dash-http-'));
    await loomJson(dir, ['init', '--name', 'dash-http']);
    t.a = (await loomJson(dir, ['create', 'Claimed one'])).id;
    t.b = (await loomJson(dir, ['create', 'Escalated one'])).id;
    t.c = (await loomJson(dir, ['create', 'Dead one', '--max-attempts', '1'])).id;
    lease = (await loomJson(dir, ['claim', t.a!, '--agent', 'alice'])).task.lease_token;
    await loomJson(dir, ['escalate', t.b!, '--message', 'decide']);
    const c = (await loomJson(dir, ['claim', t.c!, '--agent', 'bob'])).task.lease_token;
    await loomJson(dir, ['fail', t.c!, '--agent', 'bob', '--token', c, '--reason', 'broken', '--no-retry']);
    const started = await LoomProcess.start(dir, ['dashboard', '--no-open']);
    proc = started.proc;
    url = started.ready.url;
    origin = new URL(url).origin;
    expect(new URL(url).hostname).toBe('127.0.0.1');
  }, 240_000);

  afterAll(async () => {
    const code = await proc?.stop();
    expect(code).toBe(0);
    // Only the address printed on stdout holds the token: nothing it logs does.
    const token = new URL(url).searchParams.get('token')!;
    expect(proc.stderr).not.toContain(token);
    await loom(dir, ['daemon', 'stop']);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('swaps the token in the address for an HttpOnly, SameSite=Strict cookie and redirects to an address without it', async () => {
    const res = await fetch(url, { redirect: 'manual' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/dashboard/');
    const set = res.headers.get('set-cookie')!;
    expect(set).toMatch(/^loom_dashboard=[0-9a-f]{64}; Path=\/dashboard; HttpOnly; SameSite=Strict/);
    cookie = set.split(';')[0]!;
    const page = await fetch(`${origin}/dashboard/`, { headers: { cookie } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    const html = await page.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)/); // no inline script
    csrf = /data-csrf="([0-9a-f]{64})"/.exec(html)![1]!;
  });

  it('sends no lease token, in the state or in the stream', async () => {
    const state = await (await fetch(`${origin}/dashboard/api/state`, { headers: { cookie } })).text();
    expect(JSON.parse(state).claims.map((c: { id: string }) => c.id)).toEqual([t.a]);
    expect(state).not.toContain(lease);
    expect(state).not.toContain('lease_token');
    const stream = await readStream(origin, '/dashboard/api/events?since=0', { cookie }, (s) => s.includes('task.dead_lettered'));
    expect(stream).toContain('task.claimed');
    expect(stream).not.toContain(lease);
    expect(stream).not.toContain('lease-');
  });

  it('resumes the stream after the Last-Event-ID a browser sends on reconnecting', async () => {
    const all = ids(await readStream(origin, '/dashboard/api/events?since=0', { cookie }, (s) => s.includes('task.dead_lettered')));
    expect(all.length).toBeGreaterThan(4);
    const from = all[2]!;
    const resumed = ids(await readStream(origin, '/dashboard/api/events?since=0', { cookie, 'last-event-id': String(from) }, (s) => s.includes('task.dead_lettered')));
    expect(resumed[0]).toBe(all[3]);
    expect(resumed).toEqual(all.slice(3, 3 + resumed.length));
    const bad = await fetch(`${origin}/dashboard/api/events`, { headers: { cookie, 'last-event-id': '1; drop' } });
    expect(bad.status).toBe(400);
  });

  it('refuses actions without the CSRF header or from another origin, and hostile bodies with codes', async () => {
    const post = (body: string, headers: Record<string, string> = {}) =>
      fetch(`${origin}/dashboard/api/resolve`, { method: 'POST', body, headers: { cookie, 'content-type': 'application/json', origin, 'x-loom-csrf': csrf, ...headers } });
    const escalation = (await loomJson(dir, ['escalations']));
    const esc = (Array.isArray(escalation) ? escalation : escalation.escalations)[0].id as string;
    const ok = JSON.stringify({ escalation_id: esc, action: 'unblock' });
    expect((await post(ok, { 'x-loom-csrf': '' })).status).toBe(403);
    expect((await post(ok, { 'x-loom-csrf': 'f'.repeat(64) })).status).toBe(403);
    expect((await post(ok, { origin: 'http://evil.example' })).status).toBe(403);
    const cases: Array<[string, Record<string, string>, number, string]> = [
      ['{not json', {}, 400, 'INVALID_JSON'],
      [JSON.stringify({ escalation_id: esc, action: 'explode' }), {}, 400, 'VALIDATION_FAILED'],
      ['{"escalation_id":"' + esc + '","action":"done","__proto__":{"x":1}}', {}, 400, 'VALIDATION_FAILED'],
      [JSON.stringify({ escalation_id: esc, action: 'done', note: 'a\u0000b' }), {}, 400, 'VALIDATION_FAILED'],
      [JSON.stringify({ escalation_id: esc, action: 'done', note: '\ud800' }), {}, 400, 'VALIDATION_FAILED'],
      [JSON.stringify({ escalation_id: '../../etc', action: 'done' }), {}, 400, 'VALIDATION_FAILED'],
      [JSON.stringify({ escalation_id: 'esc-000000000000', action: 'done' }), {}, 404, 'ESCALATION_NOT_FOUND'],
      [JSON.stringify({ escalation_id: esc, action: 'done', note: 'x'.repeat(20_000) }), {}, 413, 'PAYLOAD_TOO_LARGE'],
      [ok, { 'content-type': 'text/plain' }, 415, 'VALIDATION_FAILED'],
    ];
    for (const [body, headers, status, code] of cases) {
      const r = await post(body, headers);
      const answer = (await r.json()) as { code: string };
      expect({ body: body.slice(0, 60), status: r.status, code: answer.code }).toEqual({ body: body.slice(0, 60), status, code });
    }
    expect((await loomJson(dir, ['status', t.b!])).task.status).toBe('blocked');
    const done = await post(ok);
    expect(done.status).toBe(200);
    expect(await done.json()).toMatchObject({ escalation_id: esc, task_id: t.b, status: 'pending' });
    expect((await loomJson(dir, ['status', t.b!])).task.status).toBe('pending');
  });

  it('redrives a dead letter through the same checks', async () => {
    const redrive = (body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${origin}/dashboard/api/redrive`, { method: 'POST', body: JSON.stringify(body), headers: { cookie, 'content-type': 'application/json', origin, 'x-loom-csrf': csrf, ...headers } });
    expect((await redrive({ task_id: t.c }, { 'x-loom-csrf': '' })).status).toBe(403);
    expect((await redrive({ task_id: 'loom-../..' })).status).toBe(400);
    const r = await redrive({ task_id: t.c });
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ redriven: [t.c] });
    expect((await loomJson(dir, ['status', t.c!])).task.status).toBe('pending');
  });

  it('answers wrong methods, unknown paths and traversal in asset paths without reaching any file', async () => {
    expect((await fetch(`${origin}/dashboard/api/resolve`, { headers: { cookie } })).status).toBe(405);
    expect((await fetch(`${origin}/dashboard/api/state`, { method: 'POST', headers: { cookie } })).status).toBe(405);
    expect((await fetch(`${origin}/dashboard/api/nope`, { headers: { cookie } })).status).toBe(404);
    expect((await fetch(`${origin}/dashboard/assets/app.js`)).status).toBe(200);
    for (const path of ['/dashboard/assets/../../package.json', '/dashboard/assets/..%2F..%2Fpackage.json', '/dashboard/assets/%2e%2e/dashboard-server.js', '/dashboard/assets/__proto__', '/dashboard/assets/app.js%00.png']) {
      const r = await raw(origin, path);
      expect({ path, status: r.status }).toEqual({ path, status: 404 });
      expect(r.body).not.toContain('"name": "loom-agents"');
    }
    const graph = await fetch(`${origin}/dashboard/api/graph.svg?epic=../../x`, { headers: { cookie } });
    expect(graph.status).toBe(400);
  });
});

describe('/dashboard on loom serve (server mode)', () => {
  const TOKEN = 'dash-e2e-token-0123456789abcdef0123456789';
  let db: TestDatabase;
  let dir: string;
  let proc: LoomProcess;
  let origin: string;

  beforeAll(async () => {
    db = await createTestDatabase('dash_e2e');
    dir = mkdtempSync(join(tmpdir(), 'loom-dash-serve-'));
    const env = { LOOM_DATABASE_URL: db.url };
    await loomJson(dir, ['init', '--name', 'dash-serve'], env);
    await loomJson(dir, ['create', 'A task'], env);
    const started = await LoomProcess.start(dir, ['serve', '--port', '0'], { ...env, LOOM_TOKEN: TOKEN });
    proc = started.proc;
    origin = new URL(started.ready.url).origin;
  }, 240_000);

  afterAll(async () => {
    await proc?.stop();
    expect(proc.stderr).not.toContain(TOKEN);
    rmSync(dir, { recursive: true, force: true });
    await db?.drop();
  }, 60_000);

  it('answers 401 with a login form, takes the bearer token once through it, and never in the address', async () => {
    const first = await fetch(`${origin}/dashboard/`);
    expect(first.status).toBe(401);
    expect(await first.text()).toContain('name="token"');
    expect((await fetch(`${origin}/dashboard/api/state`)).status).toBe(401);
    // The serve token is not taken from an address (it would stay in history and proxy logs).
    expect((await fetch(`${origin}/dashboard/?token=${TOKEN}`, { redirect: 'manual' })).status).toBe(401);
    const login = (token: string, headers: Record<string, string> = { origin }) =>
      fetch(`${origin}/dashboard/login`, { method: 'POST', redirect: 'manual', body: new URLSearchParams({ token }).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } });
    expect((await login('wrong-token-0123456789')).status).toBe(401);
    expect((await login(TOKEN, {})).status).toBe(403);
    const ok = await login(TOKEN);
    expect(ok.status).toBe(303);
    const cookie = ok.headers.get('set-cookie')!.split(';')[0]!;
    const state = await fetch(`${origin}/dashboard/api/state`, { headers: { cookie } });
    expect(state.status).toBe(200);
    expect(((await state.json()) as { total: number }).total).toBe(1);
    const bearer = await fetch(`${origin}/dashboard/api/state`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(bearer.status).toBe(200);
    // /mcp still wants its bearer token.
    expect((await fetch(`${origin}/mcp`, { method: 'POST', headers: { cookie } })).status).toBe(401);
  });
});
