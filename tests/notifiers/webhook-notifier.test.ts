import { createHmac } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { verifyWebhookSignature, WebhookNotifier } from '../../src/adapters/notifiers/webhook-notifier.js';
import { event, startServer, until, type TestServer } from './support.js';

const SECRET = 'shh-test-secret';
const fastBackoff = { baseMs: 10, factor: 2, maxMs: 50 };

let server: TestServer | undefined;
let notifier: WebhookNotifier | undefined;
afterEach(async () => {
  await notifier?.close();
  await server?.close();
  notifier = undefined;
  server = undefined;
});

describe('WebhookNotifier', () => {
  it('POSTs the event JSON with a verifiable HMAC-SHA256 signature and the Loom headers', async () => {
    server = await startServer((_r, _n, res) => res.writeHead(204).end());
    notifier = new WebhookNotifier({ name: 'ci', url: server.url, secret: SECRET });
    const e = event(42, 'escalation.raised', { payload: { escalation_id: 'esc-1', message: 'need a human', source: 'agent' } });
    await notifier.notify(e);
    await until(() => server!.requests.length === 1);

    const [req] = server.requests;
    expect(JSON.parse(req!.body)).toEqual(e);
    expect(req!.headers['content-type']).toBe('application/json');
    expect(req!.headers['x-loom-event']).toBe('escalation.raised');
    expect(req!.headers['x-loom-delivery']).toBe('42');
    const header = req!.headers['x-loom-signature'] as string;
    expect(header).toBe(`sha256=${createHmac('sha256', SECRET).update(req!.body).digest('hex')}`);
    expect(verifyWebhookSignature(req!.body, header, SECRET)).toBe(true);
    expect(verifyWebhookSignature(req!.body, header, 'another-secret')).toBe(false);
    expect(verifyWebhookSignature(`${req!.body} `, header, SECRET)).toBe(false);
  });

  it('rejects malformed signature headers', () => {
    const body = '{"a":1}';
    const good = `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;
    expect(verifyWebhookSignature(body, good, SECRET)).toBe(true);
    for (const bad of ['', 'sha256=', good.slice(7), `sha1=${good.slice(7)}`, good.slice(0, -2), `${good}00`, 'sha256=zz']) {
      expect(verifyWebhookSignature(body, bad, SECRET)).toBe(false);
    }
  });

  it('retries a server that fails twice and delivers the event exactly once', async () => {
    let ok = 0;
    server = await startServer((_r, n, res) => {
      if (n <= 2) return void res.writeHead(500).end('boom');
      ok++;
      res.writeHead(200).end('ok');
    });
    const logs: string[] = [];
    notifier = new WebhookNotifier({ name: 'ci', url: server.url, secret: SECRET, backoff: fastBackoff, log: (l) => logs.push(l) });
    await notifier.notify(event(7));
    await until(() => ok === 1);
    // Give a (wrong) extra delivery the chance to show up before counting.
    await new Promise((r) => setTimeout(r, 200));

    expect(server.requests).toHaveLength(3);
    expect(ok).toBe(1);
    // Every attempt carries the same bytes and the same delivery id, so receivers can deduplicate.
    expect(new Set(server.requests.map((r) => r.body)).size).toBe(1);
    expect(server.requests.map((r) => r.headers['x-loom-delivery'])).toEqual(['7', '7', '7']);
    expect(notifier.stats).toMatchObject({ delivered: 1, failed: 0, dropped: 0 });
    expect(logs).toEqual([]);
  });

  it('does not deliver one event twice when it is handed over twice', async () => {
    server = await startServer((_r, _n, res) => res.writeHead(200).end());
    notifier = new WebhookNotifier({ name: 'ci', url: server.url, secret: SECRET });
    await notifier.notify(event(1));
    await notifier.notify(event(1));
    await notifier.notify(event(2));
    await notifier.close();
    expect(server.requests.map((r) => r.headers['x-loom-delivery']).sort()).toEqual(['1', '2']);
  });

  it('returns from notify at once, retries a server that never answers, then logs and drops the event', async () => {
    server = await startServer(() => {}); // never answers
    const logs: string[] = [];
    notifier = new WebhookNotifier({ name: 'slow', url: server.url, secret: SECRET, timeoutMs: 200, retries: 2, backoff: fastBackoff, log: (l) => logs.push(l) });

    const t0 = performance.now();
    await notifier.notify(event(9));
    const elapsed = performance.now() - t0;
    // Back before the delivery could end (only by giving up: the server never answers), and before its
    // first attempt could time out. A fixed 50 ms was a close call on a loaded machine.
    expect(logs).toEqual([]);
    expect(elapsed).toBeLessThan(200);

    await until(() => logs.length > 0);
    expect(server.requests).toHaveLength(3);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(/webhook slow: dropped event 9 \(task\.done\) after 3 attempt\(s\); last error: no answer within 200ms/);
    expect(notifier.stats).toMatchObject({ delivered: 0, failed: 1 });
  });

  it('drops the oldest events when its queue overflows, logging once', async () => {
    server = await startServer((_r, _n, res) => res.writeHead(200).end());
    const logs: string[] = [];
    notifier = new WebhookNotifier({ name: 'ci', url: server.url, secret: SECRET, maxQueued: 3, concurrency: 1, log: (l) => logs.push(l) });
    for (let id = 1; id <= 10; id++) void notifier.notify(event(id));
    await notifier.close();

    expect(server.requests.map((r) => r.headers['x-loom-delivery'])).toEqual(['8', '9', '10']);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(/webhook ci: more than 3 events waiting, dropping the oldest/);
    expect(notifier.stats).toMatchObject({ delivered: 3, dropped: 7 });
  });

  it('close() waits a bounded time for queued deliveries, then gives up on them', async () => {
    server = await startServer(() => {}); // never answers
    const logs: string[] = [];
    notifier = new WebhookNotifier({ name: 'ci', url: server.url, secret: SECRET, timeoutMs: 10_000, closeTimeoutMs: 200, log: (l) => logs.push(l) });
    await notifier.notify(event(1));
    await notifier.notify(event(2));
    const t0 = performance.now();
    await notifier.close();
    expect(performance.now() - t0).toBeLessThan(2_000);
    expect(logs).toEqual([expect.stringMatching(/webhook ci: closed with 2 event\(s\) undelivered after waiting 200ms/)]);
    // Closed: later events are ignored, nothing is thrown.
    await notifier.notify(event(3));
    expect(notifier.stats.queued).toBe(0);
  });

  it('refuses a URL that is not http(s) with CONFIG_INVALID', () => {
    expect(() => new WebhookNotifier({ name: 'x', url: 'file:///etc/passwd', secret: SECRET })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(() => new WebhookNotifier({ name: 'x', url: 'not a url', secret: SECRET })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});
