import { NOTIFIERS_CONFIG_SCHEMA } from '../adapters/notifiers/config-schema.js';
import { MAX_JSON_BODY_BYTES } from './settings.js';

const positiveInt = { type: 'integer', minimum: 1 } as const;

/**
 * The JSON Schema of .loom/config.yaml and ~/.loom/config.yaml (LoomConfigFile
 * in config.ts). Config files are checked by a validator compiled from it ahead
 * of time, config-validator.generated.ts: after a change here, run
 * `LOOM_WRITE_GENERATED=1 npx vitest run tests/unit/generated-validators.test.ts`
 * (the test fails while the two differ).
 */
export const CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    project: {
      type: 'object',
      additionalProperties: false,
      required: ['id', 'name'],
      properties: {
        id: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,99}$' },
        name: { type: 'string', minLength: 1 },
        store: { enum: ['embedded', 'server'] },
        store_id: { type: 'string', pattern: '^[0-9a-f-]{36}$' },
      },
    },
    database_url: { type: 'string', pattern: '^postgres(ql)?://' },
    redis_url: { type: 'string', pattern: '^rediss?://' },
    redis: {
      type: 'object',
      additionalProperties: false,
      properties: { key_prefix: { type: 'string', pattern: '^[!-~]{1,100}$' }, cache: { type: 'boolean' } },
    },
    tasks: {
      type: 'object',
      additionalProperties: false,
      properties: {
        max_attempts: { type: 'integer', minimum: 1, maximum: 100 },
        lease_seconds: { type: 'integer', minimum: 1, maximum: 86400 },
        failure_policy: { enum: ['block', 'cancel'] },
        max_context_bytes: { type: 'integer', minimum: 1024, maximum: MAX_JSON_BODY_BYTES },
        max_output_bytes: { type: 'integer', minimum: 1024, maximum: MAX_JSON_BODY_BYTES },
        retry: {
          type: 'object',
          additionalProperties: false,
          properties: { base_ms: positiveInt, factor: { type: 'number', minimum: 1 }, max_ms: positiveInt },
        },
      },
    },
    daemon: {
      type: 'object',
      additionalProperties: false,
      properties: { idle_timeout_seconds: positiveInt, shared_buffers_mb: { type: 'integer', minimum: 1, maximum: 1024 } },
    },
    notifications: NOTIFIERS_CONFIG_SCHEMA,
    plugins: {
      type: 'object',
      additionalProperties: false,
      properties: {
        paths: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 1024 }, maxItems: 100 },
        trust: { type: 'array', items: { type: 'string', pattern: '^[a-z][a-z0-9-]{0,63}$' }, maxItems: 100, uniqueItems: true },
      },
    },
    orchestration: {
      type: 'object',
      additionalProperties: false,
      properties: {
        tick_seconds: positiveInt,
        stuck_after_seconds: positiveInt,
        max_lease_expiries: positiveInt,
        agent_idle_after_seconds: positiveInt,
        agent_gone_after_seconds: positiveInt,
        // Options of plugin runners by name (`loom orchestrate --runner NAME` without --runner-options);
        // each is checked against its runner's schema when it is used.
        runner_options: {
          type: 'object',
          maxProperties: 100,
          propertyNames: { pattern: '^[a-z][a-z0-9-]{0,63}/[a-z][a-z0-9-]{0,63}$' },
          additionalProperties: { type: 'object' },
        },
      },
    },
    mcp: {
      type: 'object',
      additionalProperties: false,
      properties: { tools: { type: 'array', items: { enum: ['core', 'planning', 'admin'] }, minItems: 1, uniqueItems: true } },
    },
    serve: {
      type: 'object',
      additionalProperties: false,
      properties: {
        // Sent in an HTTP header: printable ASCII, no spaces; long enough not to be guessed.
        token: { type: 'string', pattern: '^[!-~]{16,512}$' },
        // Named tokens, one per person or machine, stored as SHA-256 hashes (safe in a committed file): each can be revoked alone.
        tokens: {
          type: 'array',
          maxItems: 1000,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['name', 'sha256'],
            properties: {
              name: { type: 'string', pattern: '^[a-z0-9][a-z0-9._-]{0,63}$' },
              sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
            },
          },
        },
        host: { type: 'string', minLength: 1, maxLength: 255 },
        port: { type: 'integer', minimum: 0, maximum: 65535 },
      },
    },
  },
} as const;
