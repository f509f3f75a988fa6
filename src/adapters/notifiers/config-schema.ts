import { LoomError } from '../../domain/errors.js';
import { EVENT_TYPES } from '../../domain/events.js';
import type { NotifierRoute } from '../../ports/notifier.js';
import type { NotifierConfig } from './module.js';
import { eventMatches } from './notifier-router.js';

/** The notifier section of a config file, as validated by NOTIFIERS_CONFIG_SCHEMA. */
export interface NotifiersConfigFile {
  notifiers?: Array<{
    name: string;
    type: 'console' | 'webhook';
    url?: string;
    /** The HMAC key, or `env:VAR_NAME`. */
    secret?: string;
    timeout_ms?: number;
    retries?: number;
  }>;
  routes?: NotifierRoute[];
}

/**
 * JSON Schema (ajv, strict mode) of the notifier section:
 *
 *   notifiers:
 *     - { name: ops, type: console }
 *     - { name: ci, type: webhook, url: https://hooks.example.com/loom, secret: env:LOOM_WEBHOOK_SECRET }
 *   routes:
 *     - { notifier: ops, events: ["*"] }
 *     - { notifier: ci, events: ["task.done", "escalation.*"] }
 *
 * Cross-entry checks (unique names, routes naming a configured notifier, event
 * patterns that can match something) are in `notifierSetupFromConfig`.
 */
export const NOTIFIERS_CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    notifiers: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'type'],
        properties: {
          name: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,63}$' },
          type: { enum: ['console', 'webhook'] },
          url: { type: 'string', pattern: '^https?://[^\\s]+$' },
          secret: { type: 'string', minLength: 1 },
          timeout_ms: { type: 'integer', minimum: 100, maximum: 120_000 },
          retries: { type: 'integer', minimum: 0, maximum: 20 },
        },
        if: { properties: { type: { const: 'webhook' } } },
        // ajv's strictRequired wants required properties declared beside `required`.
        then: { required: ['url', 'secret'], properties: { url: true, secret: true } },
        // url, secret, timeout_ms and retries belong to webhooks only.
        else: { properties: { url: false, secret: false, timeout_ms: false, retries: false } },
      },
    },
    routes: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['notifier', 'events'],
        properties: {
          notifier: { type: 'string', minLength: 1 },
          events: {
            type: 'array',
            minItems: 1,
            items: { type: 'string', pattern: '^(\\*|[a-z_]+\\.\\*|[a-z_]+\\.[a-z_]+)$' },
          },
        },
      },
    },
  },
} as const;

/**
 * Turns a schema-valid notifier section into module configs and routes,
 * checking what a schema cannot: names are unique, every route names a
 * configured notifier, and every event pattern can match a Loom event.
 * Secrets stay as written (`env:` references are resolved by the module).
 */
export function notifierSetupFromConfig(section: NotifiersConfigFile, where = 'config'): { notifiers: NotifierConfig[]; routes: NotifierRoute[] } {
  const invalid = (message: string, hint: string): LoomError => new LoomError('CONFIG_INVALID', `${where}: ${message}`, { hint, details: { file: where } });
  const names = new Set<string>();
  const notifiers: NotifierConfig[] = (section.notifiers ?? []).map((n) => {
    if (names.has(n.name)) throw invalid(`two notifiers are named ${JSON.stringify(n.name)}`, 'give each notifier its own name');
    names.add(n.name);
    if (n.type === 'console') return { type: 'console', name: n.name };
    if (n.url === undefined || n.secret === undefined) throw invalid(`webhook notifier ${n.name} needs url and secret`, 'add url: and secret: (secret may be env:VAR_NAME)');
    return {
      type: 'webhook',
      name: n.name,
      url: n.url,
      secret: n.secret,
      ...(n.timeout_ms === undefined ? {} : { timeoutMs: n.timeout_ms }),
      ...(n.retries === undefined ? {} : { retries: n.retries }),
    };
  });
  const routes = (section.routes ?? []).map((r) => {
    if (!names.has(r.notifier)) {
      throw invalid(`a route names notifier ${JSON.stringify(r.notifier)}, which is not configured`, `configured notifiers: ${[...names].join(', ') || '(none)'}`);
    }
    for (const p of r.events) {
      if (!isKnownEventPattern(p)) {
        throw invalid(`route for ${r.notifier}: ${JSON.stringify(p)} matches no Loom event`, `use an event type (${EVENT_TYPES.slice(0, 3).join(', ')}, ...), a prefix like task.* or escalation.*, or *`);
      }
    }
    return { notifier: r.notifier, events: [...r.events] };
  });
  return { notifiers, routes };
}

const isKnownEventPattern = (p: string): boolean => EVENT_TYPES.some((t) => eventMatches(p, t));
