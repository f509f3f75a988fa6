import { LoomError } from '../../domain/errors.js';
import { EVENT_TYPES } from '../../domain/events.js';
import type { NotifierRoute } from '../../ports/notifier.js';
import type { NotifierConfig } from './module.js';
import { eventMatches } from './notifier-router.js';

/** The notifier section of a config file, as validated by NOTIFIERS_CONFIG_SCHEMA. */
export interface NotifiersConfigFile {
  notifiers?: Array<{
    name: string;
    /** A builtin, or a plugin's notifier type `<plugin-id>/<type>` (its other keys are its options). */
    type: 'console' | 'webhook' | `${string}/${string}`;
    [option: string]: unknown;
    url?: string;
    /** The HMAC key, or `env:VAR_NAME`. */
    secret?: string;
    timeout_ms?: number;
    retries?: number;
  }>;
  routes?: NotifierRoute[];
}

/** A plugin's notifier type as configured: `<plugin-id>/<type>`. */
export const PLUGIN_NOTIFIER_TYPE = '^[a-z][a-z0-9-]{0,63}/[a-z][a-z0-9-]{0,63}$';

/**
 * JSON Schema (ajv, strict mode) of the notifier section:
 *
 *   notifiers:
 *     - { name: ops, type: console }
 *     - { name: ci, type: webhook, url: https://hooks.example.com/loom, secret: env:LOOM_WEBHOOK_SECRET }
 *     - { name: audit, type: example/jsonl, path: .loom/events.jsonl }   # a plugin's type; path is its option
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
      maxItems: 100,
      items: {
        type: 'object',
        required: ['name', 'type'],
        maxProperties: 64,
        properties: {
          name: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,63}$' },
          type: { anyOf: [{ enum: ['console', 'webhook'] }, { type: 'string', pattern: PLUGIN_NOTIFIER_TYPE }] },
        },
        if: { properties: { type: { enum: ['console', 'webhook'] } } },
        // A builtin's keys are known; a plugin type's other keys are its options, checked against the
        // plugin's own optionsSchema when its notifier starts (and by `loom plugins list`).
        then: {
          additionalProperties: false,
          properties: {
            name: true,
            type: true,
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
export function notifierSetupFromConfig(section: NotifiersConfigFile, where = 'config'): { notifiers: NotifierConfig[]; plugin: PluginNotifierEntry[]; routes: NotifierRoute[] } {
  const invalid = (message: string, hint: string): LoomError => new LoomError('CONFIG_INVALID', `${where}: ${message}`, { hint, details: { file: where } });
  const names = new Set<string>();
  const plugin: PluginNotifierEntry[] = [];
  const notifiers: NotifierConfig[] = [];
  for (const n of section.notifiers ?? []) {
    if (names.has(n.name)) throw invalid(`two notifiers are named ${JSON.stringify(n.name)}`, 'give each notifier its own name');
    names.add(n.name);
    if (n.type !== 'console' && n.type !== 'webhook') {
      const { name, type, ...options } = n;
      plugin.push({ name, type, options });
      continue;
    }
    notifiers.push(builtin(n));
  }
  function builtin(n: NonNullable<NotifiersConfigFile['notifiers']>[number]): NotifierConfig {
    if (n.type === 'console') return { type: 'console', name: n.name };
    if (typeof n.url !== 'string' || typeof n.secret !== 'string') throw invalid(`webhook notifier ${n.name} needs url and secret`, 'add url: and secret: (secret may be env:VAR_NAME)');
    return {
      type: 'webhook',
      name: n.name,
      url: n.url,
      secret: n.secret,
      ...(typeof n.timeout_ms === 'number' ? { timeoutMs: n.timeout_ms } : {}),
      ...(typeof n.retries === 'number' ? { retries: n.retries } : {}),
    };
  }
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
  return { notifiers, plugin, routes };
}

/** A configured notifier of a plugin's type: built by the plugin host, not by this module. */
export interface PluginNotifierEntry {
  name: string;
  /** `<plugin-id>/<type>`. */
  type: string;
  options: Record<string, unknown>;
}

const isKnownEventPattern = (p: string): boolean => EVENT_TYPES.some((t) => eventMatches(p, t));
