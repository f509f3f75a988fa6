import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { DashboardAuth, sameOrigin, sessionCookie } from '../../src/adapters/dashboard/dashboard-auth.js';
import { scrubEvent } from '../../src/adapters/dashboard/dashboard-data.js';
import type { LoomEvent } from '../../src/domain/events.js';

const req = (headers: Record<string, string>): IncomingMessage => ({ headers }) as unknown as IncomingMessage;

describe('dashboard sign-in', () => {
  it('takes only the secret, and gives a session the cookie finds again until it expires', () => {
    let now = 1_000;
    const auth = new DashboardAuth('s3cret-token-0123456789', () => now);
    expect(auth.matches('s3cret-token-0123456789')).toBe(true);
    for (const wrong of [undefined, '', 's3cret-token-012345678', 's3cret-token-0123456789 ', 'S3CRET-TOKEN-0123456789']) expect(auth.matches(wrong)).toBe(false);
    const s = auth.open();
    const cookie = sessionCookie(s, '/dashboard');
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Strict');
    const r = req({ cookie: `other=1; ${cookie.split(';')[0]}` });
    expect(auth.session(r)?.id).toBe(s.id);
    expect(auth.session(req({ cookie: 'loom_dashboard=' + 'a'.repeat(64) }))).toBeNull();
    expect(auth.session(req({ cookie: 'loom_dashboard=../../x' }))).toBeNull();
    expect(auth.csrfOk(s, s.csrf)).toBe(true);
    expect(auth.csrfOk(s, '')).toBe(false);
    expect(auth.csrfOk(s, undefined)).toBe(false);
    expect(auth.csrfOk(s, [s.csrf, s.csrf])).toBe(false);
    now += 13 * 60 * 60 * 1000;
    expect(auth.session(r)).toBeNull();
  });

  it('takes the secret as a bearer header, and checks the origin of actions', () => {
    const auth = new DashboardAuth('s3cret-token-0123456789');
    expect(auth.bearer(req({ authorization: 'Bearer s3cret-token-0123456789' }))).toBe(true);
    expect(auth.bearer(req({ authorization: 'Bearer nope' }))).toBe(false);
    expect(auth.bearer(req({}))).toBe(false);
    expect(sameOrigin(req({ host: '127.0.0.1:7411', origin: 'http://127.0.0.1:7411' }))).toBe(true);
    expect(sameOrigin(req({ host: '127.0.0.1:7411', origin: 'http://evil.example' }))).toBe(false);
    expect(sameOrigin(req({ host: '127.0.0.1:7411' }))).toBe(false);
    expect(sameOrigin(req({ host: '127.0.0.1:7411', origin: 'null' }))).toBe(false);
  });
});

describe('dashboard sign-in with the named tokens of loom serve (serve.tokens: hashes)', () => {
  const sha = (t: string) => createHash('sha256').update(t, 'utf8').digest('hex');
  it('takes each named token, and the unnamed one beside them; nothing else', () => {
    const auth = new DashboardAuth('s3cret-token-0123456789', Date.now, [sha('alice-token-0123456789'), sha('bob-token-0123456789')]);
    for (const ok of ['s3cret-token-0123456789', 'alice-token-0123456789', 'bob-token-0123456789']) expect(auth.matches(ok)).toBe(true);
    for (const wrong of [undefined, '', 'carol-token-0123456789', sha('alice-token-0123456789')]) expect(auth.matches(wrong)).toBe(false);
    expect(auth.bearer(req({ authorization: 'Bearer bob-token-0123456789' }))).toBe(true);
  });

  it('named tokens only: no unnamed secret', () => {
    const auth = new DashboardAuth(null, Date.now, [sha('alice-token-0123456789')]);
    expect(auth.matches('alice-token-0123456789')).toBe(true);
    expect(auth.matches('')).toBe(false);
    expect(() => new DashboardAuth(null, Date.now, [])).toThrow();
  });
});

describe('events sent to the page', () => {
  it('lose every field naming a token, at any depth', () => {
    const e: LoomEvent = {
      id: 1,
      project_id: 'prj-1',
      at: '2026-01-01T00:00:00.000Z',
      type: 'task.claimed',
      task_id: 'loom-00000001',
      agent_id: 'a',
      payload: { lease_token: 'lease-x', nested: { token: 'y', list: [{ leaseToken: 'z', keep: 1 }] }, keep: true },
    };
    const out = JSON.stringify(scrubEvent(e));
    expect(out).not.toMatch(/lease-x|"y"|"z"|token/i);
    expect(scrubEvent(e).payload).toEqual({ nested: { list: [{ keep: 1 }] }, keep: true });
  });
});
