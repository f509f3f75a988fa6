import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ErrorObject } from 'ajv';
import * as yaml from 'js-yaml';
import { LoomError } from '../domain/errors.js';
import type { NotifiersConfigFile } from '../adapters/notifiers/config-schema.js';
import { DEFAULT_ORCHESTRATION, type OrchestrationPolicy } from '../domain/policy.js';
import { DEFAULT_TASK_SETTINGS } from './settings.js';
import { validateConfigFile } from './config-validator.generated.js';
import { describeErrors } from './describe-errors.js';
import { isLoomHomeParent, PROJECT_CONFIG, userConfigPath } from './project-dir.js';
import type { TaskSettings } from './use-cases/deps.js';

/**
 * The project a directory belongs to, as `loom init` records it: its id and
 * name, and where its tasks live (`store`: the embedded database under
 * .loom/data, or a Postgres server; `store_id`: that server database's
 * identity). A process that would open another store refuses
 * (STORE_MISMATCH) instead of showing, or creating, a different project.
 * Configs written before the store was recorded have neither (no check).
 */
export interface ProjectRecord {
  id: string;
  name: string;
  store?: 'embedded' | 'server';
  store_id?: string;
}

/** Config as a file may hold it: every key optional, nothing else allowed. */
export interface LoomConfigFile {
  project?: ProjectRecord;
  database_url?: string;
  redis_url?: string;
  /** Server mode's Redis use: a key prefix (several Looms on one Redis) and whether reads use the cache. */
  redis?: { key_prefix?: string; cache?: boolean };
  tasks?: Partial<Omit<TaskSettings, 'retry'>> & { retry?: Partial<TaskSettings['retry']> };
  daemon?: { idle_timeout_seconds?: number; shared_buffers_mb?: number };
  mcp?: { tools?: string[] };
  serve?: { token?: string; tokens?: ServeToken[]; host?: string; port?: number };
  notifications?: NotifiersConfigFile;
  /** Plugin package folders to load (relative to the project), and the plugin ids whose code may run. */
  plugins?: { paths?: string[]; trust?: string[] };
  orchestration?: {
    tick_seconds?: number;
    stuck_after_seconds?: number;
    max_lease_expiries?: number;
    agent_idle_after_seconds?: number;
    agent_gone_after_seconds?: number;
    runner_options?: Record<string, Record<string, unknown>>;
  };
}

export interface LoomConfig {
  project_dir: string;
  project: ProjectRecord | null;
  database_url: string | null;
  redis_url: string | null;
  redis: { key_prefix: string; cache: boolean };
  tasks: TaskSettings;
  /** shared_buffers_mb: the embedded Postgres's buffer cache; absent, the store's default (DEFAULT_SHARED_BUFFERS_MB, pglite-pool.ts). */
  daemon: { idle_timeout_seconds: number; shared_buffers_mb?: number };
  mcp: { tools: string[] | undefined };
  /**
   * `loom serve`: the bearer token (LOOM_TOKEN wins), where it came from, the named tokens (by hash: every
   * config file's, a later file's entry replacing an earlier one of the same name), and where to listen.
   */
  serve: { token: string | null; token_source: string | null; tokens: ServeToken[]; host: string; port: number };
  /** How often the reconcile tick runs; the options of plugin runners by name (the user's and the project's, the project's winning per runner). */
  orchestration: { tick_seconds: number; runner_options: Record<string, Record<string, unknown>> };
  /** Notifiers and which events each gets (the project file's section replaces the user file's). */
  notifications: NotifiersConfigFile;
  /** Plugins: extra package folders (resolved against the project) and the trusted ids. */
  plugins: { paths: string[]; trust: string[] };
  /** Where each part came from, for `loom doctor` and error messages. */
  sources: string[];
}


// Compiled ahead of time from CONFIG_SCHEMA (config-schema.ts): every CLI process reads a config, and
// compiling the schema as it starts cost ~100 ms of CPU (tests/unit/generated-validators.test.ts keeps it current).
const validate = validateConfigFile as ((data: unknown) => data is LoomConfigFile) & { errors?: ErrorObject[] | null };

export { findProjectDir, PROJECT_CONFIG } from './project-dir.js';

function readConfigFile(path: string): LoomConfigFile {
  let parsed: unknown;
  const text = readFileSync(path, 'utf8');
  // js-yaml 5 calls an empty document an error; an empty or all-comment config (everything commented out) sets nothing.
  if (text.split(/\r?\n/).every((line) => /^\s*(#.*)?$/.test(line))) return {};
  try {
    parsed = yaml.load(text);
  } catch (e) {
    throw new LoomError('CONFIG_INVALID', `${path} is not valid YAML: ${(e as Error).message.split('\n')[0]}`, {
      hint: 'fix the file by hand and keep its project id line: it names the project your tasks are in (deleting the file and running `loom init` would start a new, empty project; `loom init --project ID` reattaches, and `loom project list` shows the ids)',
      details: { file: path },
    });
  }
  if (parsed === undefined || parsed === null) return {};
  if (!validate(parsed)) {
    throw new LoomError('CONFIG_INVALID', `${path}: ${describeErrors(validate.errors, '(top level)')}`, {
      hint: 'fix the key named above; see the README for every config key',
      details: { file: path },
    });
  }
  const names = (parsed.serve?.tokens ?? []).map((t) => t.name);
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) {
    throw new LoomError('CONFIG_INVALID', `${path}: serve.tokens names "${twice}" twice`, {
      hint: 'give each token its own name (one per person or machine), or remove the older entry',
      details: { file: path },
    });
  }
  return parsed;
}

function envConfig(env: NodeJS.ProcessEnv): LoomConfigFile {
  const c: LoomConfigFile = {};
  const tasks: NonNullable<LoomConfigFile['tasks']> = {};
  const int = (name: string): number | undefined => {
    const v = env[name];
    if (v === undefined || v === '') return undefined;
    if (!/^\d+$/.test(v) || Number(v) < 1) {
      throw new LoomError('CONFIG_INVALID', `${name}=${v} must be a positive integer`, { hint: `fix or unset ${name}`, details: { env: name } });
    }
    return Number(v);
  };
  if (env.LOOM_DATABASE_URL) c.database_url = env.LOOM_DATABASE_URL;
  if (env.LOOM_REDIS_URL) c.redis_url = env.LOOM_REDIS_URL;
  if (env.LOOM_REDIS_PREFIX) c.redis = { key_prefix: env.LOOM_REDIS_PREFIX };
  if (env.LOOM_TOKEN) {
    if (!/^[!-~]{16,512}$/.test(env.LOOM_TOKEN)) {
      throw new LoomError('CONFIG_INVALID', 'LOOM_TOKEN must be 16 to 512 printable characters without spaces', {
        hint: 'make one with `loom serve --new-token`',
        details: { env: 'LOOM_TOKEN' },
      });
    }
    c.serve = { token: env.LOOM_TOKEN };
  }
  const maxAttempts = int('LOOM_MAX_ATTEMPTS');
  if (maxAttempts !== undefined) tasks.max_attempts = maxAttempts;
  const lease = int('LOOM_LEASE_SECONDS');
  if (lease !== undefined) tasks.lease_seconds = lease;
  if (env.LOOM_FAILURE_POLICY) tasks.failure_policy = env.LOOM_FAILURE_POLICY as 'block' | 'cancel';
  if (Object.keys(tasks).length > 0) c.tasks = tasks;
  const idle = int('LOOM_DAEMON_IDLE_SECONDS');
  if (idle !== undefined) c.daemon = { idle_timeout_seconds: idle };
  if (!validate(c)) {
    throw new LoomError('CONFIG_INVALID', `LOOM_* environment: ${describeErrors(validate.errors)}`, { hint: 'fix the LOOM_* variable named above' });
  }
  return c;
}

/**
 * `~/.loom/config.yaml`, then the project's `.loom/config.yaml`, then LOOM_*
 * variables; later sources override earlier ones key by key.
 */
export function loadConfig(projectDir: string, env: NodeJS.ProcessEnv = process.env): LoomConfig {
  const sources: string[] = [];
  const layers: LoomConfigFile[] = [];
  const user = userConfigPath(env);
  // A project at the home folder would read the user config twice (it is both): the user folder is no project.
  for (const path of isLoomHomeParent(projectDir, env) ? [user] : [user, join(projectDir, PROJECT_CONFIG)]) {
    if (existsSync(path)) {
      layers.push(readConfigFile(path));
      sources.push(path);
    }
  }
  layers.push(envConfig(env));
  sources.push('environment');
  const merged = layers.reduce<LoomConfigFile>(
    (acc, l) => ({
      ...acc,
      ...l,
      tasks: { ...acc.tasks, ...l.tasks, retry: { ...acc.tasks?.retry, ...l.tasks?.retry } },
      daemon: { ...acc.daemon, ...l.daemon },
      mcp: { ...acc.mcp, ...l.mcp },
      // Named tokens add up across files (a project's list beside a user's); the same name: the later file's.
      serve: { ...acc.serve, ...l.serve, ...(acc.serve?.tokens === undefined && l.serve?.tokens === undefined ? {} : { tokens: mergeTokens(acc.serve?.tokens, l.serve?.tokens) }) },
      redis: { ...acc.redis, ...l.redis },
      orchestration: { ...acc.orchestration, ...l.orchestration, runner_options: { ...acc.orchestration?.runner_options, ...l.orchestration?.runner_options } },
      // Trust adds up: an id the user trusted in ~/.loom/config.yaml stays trusted in a project whose config trusts others.
      plugins: { ...acc.plugins, ...l.plugins, ...(acc.plugins?.trust === undefined && l.plugins?.trust === undefined ? {} : { trust: [...new Set([...(acc.plugins?.trust ?? []), ...(l.plugins?.trust ?? [])])] }) },
    }),
    {},
  );
  return {
    project_dir: projectDir,
    project: merged.project ?? null,
    database_url: merged.database_url ?? null,
    redis_url: merged.redis_url ?? null,
    redis: { key_prefix: merged.redis?.key_prefix ?? 'loom:', cache: merged.redis?.cache ?? true },
    tasks: {
      max_attempts: merged.tasks?.max_attempts ?? DEFAULT_TASK_SETTINGS.max_attempts,
      lease_seconds: merged.tasks?.lease_seconds ?? DEFAULT_TASK_SETTINGS.lease_seconds,
      failure_policy: merged.tasks?.failure_policy ?? DEFAULT_TASK_SETTINGS.failure_policy,
      retry: { ...DEFAULT_TASK_SETTINGS.retry, ...merged.tasks?.retry },
      max_context_bytes: merged.tasks?.max_context_bytes ?? DEFAULT_TASK_SETTINGS.max_context_bytes,
      max_output_bytes: merged.tasks?.max_output_bytes ?? DEFAULT_TASK_SETTINGS.max_output_bytes,
      orchestration: orchestrationPolicy(merged.orchestration),
    },
    daemon: { idle_timeout_seconds: merged.daemon?.idle_timeout_seconds ?? 300, ...(merged.daemon?.shared_buffers_mb === undefined ? {} : { shared_buffers_mb: merged.daemon.shared_buffers_mb }) },
    mcp: { tools: merged.mcp?.tools },
    serve: {
      token: merged.serve?.token ?? null,
      token_source: tokenSource(layers, sources),
      tokens: merged.serve?.tokens ?? [],
      host: merged.serve?.host ?? '127.0.0.1',
      port: merged.serve?.port ?? 7411,
    },
    orchestration: { tick_seconds: merged.orchestration?.tick_seconds ?? 5, runner_options: merged.orchestration?.runner_options ?? {} },
    notifications: merged.notifications ?? {},
    plugins: { paths: merged.plugins?.paths ?? [], trust: merged.plugins?.trust ?? [] },
    sources,
  };
}

/** A named token of `loom serve`, as config holds it: its SHA-256 (hex), never the token. */
export interface ServeToken {
  name: string;
  sha256: string;
}

function mergeTokens(a: ServeToken[] | undefined, b: ServeToken[] | undefined): ServeToken[] {
  const byName = new Map<string, ServeToken>();
  for (const t of [...(a ?? []), ...(b ?? [])]) byName.set(t.name, t);
  return [...byName.values()];
}

/** Which layer the serve token came from: LOOM_TOKEN or a file's path. */
function tokenSource(layers: LoomConfigFile[], sources: string[]): string | null {
  for (let i = layers.length - 1; i >= 0; i--) {
    if (layers[i]?.serve?.token !== undefined) return sources[i] === 'environment' ? 'LOOM_TOKEN' : (sources[i] ?? null);
  }
  return null;
}

function orchestrationPolicy(o: LoomConfigFile['orchestration']): OrchestrationPolicy {
  const d = DEFAULT_ORCHESTRATION;
  const ms = (s: number | undefined, fallback: number) => (s === undefined ? fallback : s * 1000);
  return {
    stuck_after_ms: ms(o?.stuck_after_seconds, d.stuck_after_ms),
    max_lease_expiries: o?.max_lease_expiries ?? d.max_lease_expiries,
    agent_idle_after_ms: ms(o?.agent_idle_after_seconds, d.agent_idle_after_ms),
    agent_gone_after_ms: ms(o?.agent_gone_after_seconds, d.agent_gone_after_ms),
  };
}
