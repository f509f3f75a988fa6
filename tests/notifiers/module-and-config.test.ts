import { Ajv } from 'ajv';
import { Container } from 'inversify';
import { describe, expect, it } from 'vitest';
import { NOTIFIERS_CONFIG_SCHEMA, notifierSetupFromConfig, type NotifiersConfigFile } from '../../src/adapters/notifiers/config-schema.js';
import { notifiersModule, resolveSecret } from '../../src/adapters/notifiers/module.js';
import { verifyWebhookSignature } from '../../src/adapters/notifiers/webhook-notifier.js';
import { Notifier } from '../../src/ports/notifier.js';
import { event, startServer, until } from './support.js';

describe('notifiersModule', () => {
  it('binds every configured notifier under the Notifier multi-binding, reading env: secrets', async () => {
    const server = await startServer((_r, _n, res) => res.writeHead(200).end());
    try {
      const container = new Container();
      await container.load(
        notifiersModule([{ type: 'console' }, { type: 'webhook', name: 'ci', url: server.url, secret: 'env:LOOM_TEST_HOOK_SECRET' }], {
          env: { LOOM_TEST_HOOK_SECRET: 'from-env' },
        }),
      );
      const notifiers = container.getAll(Notifier);
      expect(notifiers.map((n) => n.name)).toEqual(['console', 'ci']);

      const ci = notifiers.find((n) => n.name === 'ci')!;
      await ci.notify(event(1));
      await until(() => server.requests.length === 1);
      const [req] = server.requests;
      expect(verifyWebhookSignature(req!.body, req!.headers['x-loom-signature'] as string, 'from-env')).toBe(true);
      await Promise.all(notifiers.map((n) => n.close?.()));
    } finally {
      await server.close();
    }
  });

  it('leaves getAll(Notifier) empty (optional) when none are configured', async () => {
    const container = new Container();
    await container.load(notifiersModule([]));
    expect(container.getAll(Notifier, { optional: true })).toEqual([]);
  });

  it('refuses a missing env secret and duplicate names with CONFIG_INVALID when the module is created', () => {
    expect(() => notifiersModule([{ type: 'webhook', url: 'http://127.0.0.1:9/x', secret: 'env:LOOM_TEST_UNSET' }], { env: {} })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(/LOOM_TEST_UNSET, which is not set/) }),
    );
    expect(() => notifiersModule([{ type: 'console' }, { type: 'console' }])).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });

  it('takes a literal secret as written and rejects a malformed env: reference', () => {
    expect(resolveSecret('plain', 'n', {})).toBe('plain');
    expect(resolveSecret('env:A_B', 'n', { A_B: 'x' })).toBe('x');
    expect(() => resolveSecret('env:not valid', 'n', {})).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});

describe('NOTIFIERS_CONFIG_SCHEMA', () => {
  const validate = new Ajv({ allErrors: true, strict: true }).compile(NOTIFIERS_CONFIG_SCHEMA);
  const good: NotifiersConfigFile = {
    notifiers: [
      { name: 'ops', type: 'console' },
      { name: 'ci', type: 'webhook', url: 'https://hooks.example.com/loom', secret: 'env:LOOM_WEBHOOK_SECRET', timeout_ms: 3000, retries: 3 },
    ],
    routes: [
      { notifier: 'ops', events: ['*'] },
      { notifier: 'ci', events: ['task.done', 'escalation.*'] },
    ],
  };

  it('accepts a console and a webhook notifier with routes', () => {
    expect(validate(good)).toBe(true);
    expect(validate({})).toBe(true);
  });

  it.each([
    ['a webhook without a secret', { notifiers: [{ name: 'ci', type: 'webhook', url: 'https://x.example' }] }],
    ['a webhook without a url', { notifiers: [{ name: 'ci', type: 'webhook', secret: 's' }] }],
    ['a console notifier with a url', { notifiers: [{ name: 'ops', type: 'console', url: 'https://x.example' }] }],
    ['an unknown type', { notifiers: [{ name: 'x', type: 'slack' }] }],
    ['an unknown key', { notifiers: [{ name: 'ops', type: 'console', colour: true }] }],
    ['a non-http url', { notifiers: [{ name: 'ci', type: 'webhook', url: 'ftp://x', secret: 's' }] }],
    ['a malformed event pattern', { routes: [{ notifier: 'ops', events: ['task*'] }] }],
    ['a route without events', { routes: [{ notifier: 'ops', events: [] }] }],
  ])('rejects %s', (_what, config) => {
    expect(validate(config)).toBe(false);
  });

  it('maps a valid section to module configs and routes', () => {
    expect(notifierSetupFromConfig(good)).toEqual({
      notifiers: [
        { type: 'console', name: 'ops' },
        { type: 'webhook', name: 'ci', url: 'https://hooks.example.com/loom', secret: 'env:LOOM_WEBHOOK_SECRET', timeoutMs: 3000, retries: 3 },
      ],
      plugin: [],
      routes: good.routes,
    });
  });

  it("accepts a plugin's notifier type, its other keys being the options, and hands it to the plugin host", () => {
    const section: NotifiersConfigFile = {
      notifiers: [{ name: 'audit', type: 'example/jsonl', path: '.loom/events.jsonl', max_queued: 10 }],
      routes: [{ notifier: 'audit', events: ['task.*'] }],
    };
    expect(validate(section)).toBe(true);
    expect(notifierSetupFromConfig(section)).toEqual({
      notifiers: [],
      plugin: [{ name: 'audit', type: 'example/jsonl', options: { path: '.loom/events.jsonl', max_queued: 10 } }],
      routes: [{ notifier: 'audit', events: ['task.*'] }],
    });
  });

  it.each([
    ['a plugin type with an upper-case id', { notifiers: [{ name: 'x', type: 'Example/jsonl' }] }],
    ['a plugin type with two slashes', { notifiers: [{ name: 'x', type: 'a/b/c' }] }],
    ['a plugin type leaving its namespace', { notifiers: [{ name: 'x', type: '../jsonl' }] }],
    ['a plugin type without a name', { notifiers: [{ type: 'example/jsonl' }] }],
  ])('rejects %s', (_what, config) => {
    expect(validate(config)).toBe(false);
  });

  it.each([
    ['a route naming no notifier', { ...good, routes: [{ notifier: 'ghost', events: ['*'] }] }, /notifier "ghost", which is not configured/],
    ['an event type Loom never emits', { ...good, routes: [{ notifier: 'ops', events: ['task.finished'] }] }, /"task.finished" matches no Loom event/],
    ['a prefix that matches nothing', { ...good, routes: [{ notifier: 'ops', events: ['job.*'] }] }, /"job.\*" matches no Loom event/],
    ['duplicate names', { notifiers: [{ name: 'a', type: 'console' as const }, { name: 'a', type: 'console' as const }] }, /two notifiers are named "a"/],
  ])('refuses %s with CONFIG_INVALID', (_what, config, message) => {
    expect(() => notifierSetupFromConfig(config, '.loom/config.yaml')).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(message) }));
  });
});
