import type { Writable } from 'node:stream';
import { ContainerModule } from '#inversify';
import { LoomError } from '../../domain/errors.js';
import { Notifier } from '../../ports/notifier.js';
import { ConsoleNotifier } from './console-notifier.js';
import { WebhookNotifier, type WebhookBackoff } from './webhook-notifier.js';

export interface ConsoleNotifierConfig {
  type: 'console';
  name?: string;
  out?: Writable;
  timeZone?: 'local' | 'utc';
}

export interface WebhookNotifierConfig {
  type: 'webhook';
  name?: string;
  url: string;
  /** The HMAC key, or `env:VAR_NAME` to read it from the environment. */
  secret: string;
  timeoutMs?: number;
  retries?: number;
  backoff?: WebhookBackoff;
  concurrency?: number;
  maxQueued?: number;
  closeTimeoutMs?: number;
}

export type NotifierConfig = ConsoleNotifierConfig | WebhookNotifierConfig;

export interface NotifiersModuleOptions {
  /** Where `env:VAR_NAME` secrets are read; process.env by default. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Where notifiers report their own trouble (dropped deliveries); stderr by default. */
  log?: (line: string) => void;
  random?: () => number;
}

const ENV_REF = /^env:([A-Za-z_][A-Za-z0-9_]*)$/;

/** Reads `env:VAR_NAME` from the environment; any other value is the secret itself. */
export function resolveSecret(value: string, notifier: string, env: Readonly<Record<string, string | undefined>>): string {
  if (!value.startsWith('env:')) return value;
  const m = ENV_REF.exec(value);
  if (m === null) {
    throw new LoomError('CONFIG_INVALID', `notifier ${notifier}: secret ${JSON.stringify(value)} is not a valid env:VAR_NAME reference`, {
      hint: 'write the secret as env:VAR_NAME, with a variable name of letters, digits and underscores',
      details: { notifier },
    });
  }
  const name = m[1]!;
  const secret = env[name];
  if (secret === undefined || secret === '') {
    throw new LoomError('CONFIG_INVALID', `notifier ${notifier}: the secret comes from $${name}, which is not set`, {
      hint: `export ${name} in the environment of the Loom process that runs notifiers (the daemon or \`loom serve\`)`,
      details: { notifier, env: name },
    });
  }
  return secret;
}

/** Builds the notifiers; throws CONFIG_INVALID for duplicate names, bad URLs or a missing secret. */
export function createNotifiers(configs: readonly NotifierConfig[], options: NotifiersModuleOptions = {}): Notifier[] {
  const env = options.env ?? process.env;
  const seen = new Set<string>();
  return configs.map((c) => {
    const name = c.name ?? c.type;
    if (seen.has(name)) {
      throw new LoomError('CONFIG_INVALID', `two notifiers are named ${JSON.stringify(name)}`, {
        hint: 'give each notifier its own name; routes refer to notifiers by name',
        details: { notifier: name },
      });
    }
    seen.add(name);
    if (c.type === 'console') {
      return new ConsoleNotifier({ name, ...(c.out === undefined ? {} : { out: c.out }), ...(c.timeZone === undefined ? {} : { timeZone: c.timeZone }) });
    }
    return new WebhookNotifier({
      name,
      url: c.url,
      secret: resolveSecret(c.secret, name, env),
      ...(c.timeoutMs === undefined ? {} : { timeoutMs: c.timeoutMs }),
      ...(c.retries === undefined ? {} : { retries: c.retries }),
      ...(c.backoff === undefined ? {} : { backoff: c.backoff }),
      ...(c.concurrency === undefined ? {} : { concurrency: c.concurrency }),
      ...(c.maxQueued === undefined ? {} : { maxQueued: c.maxQueued }),
      ...(c.closeTimeoutMs === undefined ? {} : { closeTimeoutMs: c.closeTimeoutMs }),
      ...(options.log === undefined ? {} : { log: options.log }),
      ...(options.random === undefined ? {} : { random: options.random }),
    });
  });
}

/**
 * Binds every configured notifier under the `Notifier` multi-binding; the
 * composition root reads them with `container.getAll(Notifier)`. Notifiers are
 * built here, so configuration errors surface when the module is created.
 */
export const notifiersModule = (configs: readonly NotifierConfig[], options: NotifiersModuleOptions = {}): ContainerModule => {
  const notifiers = createNotifiers(configs, options);
  return new ContainerModule(({ bind }) => {
    for (const n of notifiers) bind(Notifier).toConstantValue(n);
  });
};
