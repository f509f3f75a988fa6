/**
 * The public plugin API of Loom, published as `loom-agents/plugin`. A plugin
 * package imports only this entry and lists `loom-agents` as a peer
 * dependency:
 *
 * ```js
 * import { definePlugin } from 'loom-agents/plugin';
 * export default definePlugin({
 *   notifiers: [{ type: 'jsonl', description: '...', optionsSchema: {...}, create: (options, ctx) => ... }],
 * });
 * ```
 *
 * and declares in its package.json which API versions it was written for:
 *
 * ```json
 * { "keywords": ["loom-plugin"],
 *   "loom": { "apiVersion": "^1.0.0", "id": "example", "main": "index.js" },
 *   "peerDependencies": { "loom-agents": "^0.1.0" } }
 * ```
 *
 * **Versioning.** {@link PLUGIN_API_VERSION} is semver, independent of Loom's
 * own version. The host loads a plugin only when its version falls in the
 * plugin's `apiVersion` range.
 * - Major: anything that can break a plugin that used the API as documented:
 *   removing or renaming an export or a field, making an optional field
 *   required, narrowing what Loom accepts (a stricter pattern) or widening what
 *   Loom hands a plugin in a way its code cannot ignore (a field of `Notifier`
 *   that changes meaning, a `LoomEvent` field removed or retyped).
 * - Minor: additions a plugin can ignore: a new kind of contribution (1.4:
 *   agent runners), a new optional field, a new event type.
 * - Patch: fixes and documentation.
 *
 * **The contract on file.** `src/plugins/plugin-api.api.md` is API
 * Extractor's report of every declaration this entry exports (with the types
 * they reach). A test fails when the built API differs from it, and
 * `npm run api:report` rewrites it only after PLUGIN_API_VERSION has moved:
 * by a minor when declarations were only added, by a major when one was
 * removed or changed. So the API cannot change without its version, and the
 * report's diff shows reviewers what changed.
 *
 * This module imports nothing at run time but the version constant (a
 * dependency-cruiser rule keeps it so): a plugin loading it pulls in none of
 * Loom's internals.
 *
 * @packageDocumentation
 */
import type { EventType, LoomEvent, NewEvent } from '../domain/events.js';
import type { JsonObject } from '../domain/task.js';
import { PLUGIN_API_VERSION } from './api-version.js';

export { PLUGIN_API_VERSION };
// The event types notifiers receive (EventType, NewEvent and JsonObject exported by name since 1.5).
export type { EventType, JsonObject, LoomEvent, NewEvent };

/** A plugin id and a notifier type name: kebab-case, at most 64 characters. */
export const PLUGIN_NAME_PATTERN = /^[a-z][a-z0-9-]{0,63}$/;

/**
 * Tells someone outside Loom about events (a file, a chat, a pager). The same
 * contract as Loom's builtin notifiers.
 */
export interface Notifier {
  /** The name it was configured under: use {@link NotifierContext.name}. */
  readonly name: string;
  /**
   * Called for each event routed to this notifier. Must return quickly: slow
   * delivery belongs behind the notifier's own bounded queue. A notifier that
   * throws, rejects or hangs is reported and skipped; it never blocks Loom.
   */
  notify(event: LoomEvent): Promise<void>;
  /** Flushes what is queued (bounded in time) and releases resources; called once when Loom stops. */
  close?(): Promise<void>;
}

/** What the host gives a notifier factory besides its options. */
export interface NotifierContext {
  /** The name from the config entry (`notifiers: [{name, type, ...}]`); the notifier's `name`. */
  readonly name: string;
  /** The project's directory: resolve relative paths in the options against it, not the process's cwd. */
  readonly projectDir: string;
  /** One line into Loom's log (prefixed with the plugin and notifier); for delivery problems. */
  log(line: string): void;
  /** Aborted when Loom shuts the notifier down; long-running work should stop on it. */
  readonly signal?: AbortSignal;
}

/** A JSON Schema object (draft 2020-12 keywords as ajv supports them in strict mode). */
export type JsonSchema = { readonly [key: string]: unknown };

/**
 * A kind of notifier a plugin contributes. Users configure it like a builtin
 * notifier, named `<plugin-id>/<type>`:
 *
 * ```yaml
 * notifications:
 *   notifiers:
 *     - { name: audit, type: example/jsonl, path: .loom/events.jsonl }
 *   routes:
 *     - { notifier: audit, events: ["*"] }
 * ```
 *
 * The entry's other keys are the options: the host validates them against
 * `optionsSchema` (ajv, strict) before `create` runs, so `create` may trust
 * their shape.
 */
export interface NotifierType<Options = Record<string, unknown>> {
  /** `[a-z][a-z0-9-]*`, unique within the plugin. */
  readonly type: string;
  /** One line, shown by `loom plugins info`. */
  readonly description: string;
  /** The options' JSON Schema: `{type: 'object', properties: {...}, required: [...], additionalProperties: false}`. */
  readonly optionsSchema: JsonSchema;
  /** Builds one configured notifier. A factory that throws or rejects is reported; that notifier is skipped. */
  create(options: Options, ctx: NotifierContext): Notifier | Promise<Notifier>;
}

/** A claimed task as a runner type sees it (plain data, a copy). Since plugin API 1.4. */
export interface RunnerTask {
  /** `loom-` and 8 hex digits. */
  readonly id: string;
  /** One line, at most 500 characters: user text (quote it wherever a shell or a prompt reads it). */
  readonly title: string;
  /** p0 is the most urgent. */
  readonly priority: 'p0' | 'p1' | 'p2';
  /** What the planner left for the agent (files, inputs, constraints): user JSON. */
  readonly context: Readonly<Record<string, unknown>>;
  /** The acceptance criteria, or null. */
  readonly done_when: string | null;
  /** Lower-case tags, e.g. `area:auth`. */
  readonly labels: readonly string[];
  /** The epic it belongs to, or null. */
  readonly parent_id: string | null;
  /** This attempt, from 1. */
  readonly attempt: number;
  /** Attempts it may have before it becomes a dead letter. */
  readonly max_attempts: number;
}

/** One job: a task claimed for an agent, to be turned into a command. Since plugin API 1.4. */
export interface RunnerJob {
  /** The claimed task. */
  readonly task: RunnerTask;
  /** The agent id the task is leased to (the job's `LOOM_AGENT_ID`). */
  readonly agentId: string;
  /** `prj-` and 12 hex digits (the job's `LOOM_PROJECT_ID`). */
  readonly projectId: string;
  /** The project's directory: the job's working directory. */
  readonly projectDir: string;
}

/** The process Loom starts for a job. Since plugin API 1.4. */
export interface RunnerCommand {
  /**
   * The program and its arguments, started without a shell (nothing to quote, nothing
   * expanded); the program is looked up on the job's PATH. At least the program; no NUL.
   */
  readonly argv: readonly string[];
  /**
   * Added to the job's environment, which already has `LOOM_TASK_ID`, `LOOM_TASK_TITLE`,
   * `LOOM_LEASE_TOKEN`, `LOOM_AGENT_ID`, `LOOM_PROJECT_ID`, `LOOM_PROJECT_DIR`, `LOOM_BIN`
   * and a `loom` command first on its PATH. Names are `[A-Za-z_][A-Za-z0-9_]*`; `LOOM_*` and
   * `PATH` are Loom's and refused.
   */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * A way to run an agent on a task, for `loom orchestrate --runner <plugin-id>/<type>`
 * (options: `--runner-options JSON`, checked against `optionsSchema` before anything is
 * claimed). Since plugin API 1.4.
 *
 * The type only builds the command; Loom starts it as it starts `--run` commands, with
 * the same guarantees: its own process group, heartbeats while it runs, and on a
 * timeout, a shutdown or a lost lease the whole group killed and verified gone before
 * anything is recorded. Exit 0 records done (stdout is the output when it is one JSON
 * object; a job that reported itself with `loom done` keeps its report); any other exit
 * is a retryable failure, or a rate limit (Claude Code's messages, as with `--run`).
 */
export interface RunnerType<Options = Record<string, unknown>> {
  /** `[a-z][a-z0-9-]*`, unique within the plugin. */
  readonly type: string;
  /** One line, shown by `loom plugins info`. */
  readonly description: string;
  /** The options' JSON Schema (ajv, strict), as for notifier types. */
  readonly optionsSchema: JsonSchema;
  /**
   * The command for one job: called once per claimed task, synchronously, just before it
   * starts, and once more when `loom orchestrate` starts, with a sample job (task id
   * `loom-00000000`), to check that the program it names is installed before anything is
   * claimed. It must not start anything itself. A throw, or a command that is not valid,
   * fails that attempt as a command that could not start (not retried).
   */
  command(job: RunnerJob, options: Options): RunnerCommand;
}

/** What a plugin contributes. Skills and workflows are files named in package.json, not code. */
export interface LoomPlugin {
  /** When given, must equal the package's `loom.id` (the namespace of everything it contributes). */
  readonly id?: string;
  /** Notifier types, configured as `<plugin-id>/<type>` in `notifications.notifiers`. */
  readonly notifiers?: readonly NotifierType<any>[];
  /** Agent runners (plugin API 1.4 and later: declare `"apiVersion": "^1.4.0"` when you use them). */
  readonly runners?: readonly RunnerType<any>[];
}

const PLUGIN_BRAND = Symbol.for('loom.plugin');

/** What {@link definePlugin} returns: frozen, and branded so the host recognises it across package copies. */
export type DefinedPlugin = Readonly<LoomPlugin> & {
  readonly [PLUGIN_BRAND]: true;
  /** The plugin API version of the `definePlugin` that made it. */
  readonly apiVersion: string;
};

/**
 * Checks a plugin's shape and returns it frozen and branded: the module's
 * default export. Throws a `TypeError` naming the first problem, so a mistake
 * shows when the plugin is imported rather than when an event arrives.
 */
export function definePlugin(def: LoomPlugin): DefinedPlugin {
  if (!isRecord(def)) throw problem('the definition must be an object', def);
  for (const key of Object.keys(def)) {
    if (!PLUGIN_KEYS.includes(key)) throw problem(`unknown field "${key}"; a plugin may have ${PLUGIN_KEYS.join(', ')}`);
  }
  if (def.id !== undefined && (typeof def.id !== 'string' || !PLUGIN_NAME_PATTERN.test(def.id))) {
    throw problem('id must match [a-z][a-z0-9-]* (at most 64 characters)', def.id);
  }
  const notifiers = def.notifiers === undefined ? undefined : checkNotifiers(def.notifiers);
  const runners = def.runners === undefined ? undefined : checkRunners(def.runners);
  return Object.freeze({
    ...(def.id === undefined ? {} : { id: def.id }),
    ...(notifiers === undefined ? {} : { notifiers }),
    ...(runners === undefined ? {} : { runners }),
    apiVersion: PLUGIN_API_VERSION,
    [PLUGIN_BRAND]: true as const,
  });
}

/** True for what {@link definePlugin} returned, from this copy of Loom or any other (never `instanceof`). */
export function isLoomPlugin(value: unknown): value is DefinedPlugin {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[PLUGIN_BRAND] === true;
}

const PLUGIN_KEYS: readonly string[] = ['id', 'notifiers', 'runners'];
const NOTIFIER_KEYS: readonly string[] = ['type', 'description', 'optionsSchema', 'create'];
const RUNNER_KEYS: readonly string[] = ['type', 'description', 'optionsSchema', 'command'];

function checkNotifiers(list: unknown): readonly NotifierType[] {
  if (!Array.isArray(list)) throw problem('notifiers must be an array of notifier types', list);
  const seen = new Set<string>();
  const out = list.map((n: unknown, i): NotifierType => {
    const at = `notifiers[${i}]`;
    if (!isRecord(n)) throw problem(`${at} must be an object`, n);
    const common = checkContribution('notifier', at, n, NOTIFIER_KEYS, seen);
    if (typeof n.create !== 'function') throw problem(`${at} (${common.type}).create must be a function (options, ctx) => Notifier`, n.create);
    return Object.freeze({ ...common, create: n.create as NotifierType['create'] });
  });
  return Object.freeze(out);
}

/** The fields a notifier type and a runner type share: type, a one-line description, an options schema. */
function checkContribution(kind: string, at: string, n: Record<string, unknown>, keys: readonly string[], seen: Set<string>): { type: string; description: string; optionsSchema: JsonSchema } {
  for (const key of Object.keys(n)) {
    if (!keys.includes(key)) throw problem(`${at}: unknown field "${key}"; a ${kind} type has ${keys.join(', ')}`);
  }
  const { type, description, optionsSchema } = n;
  if (typeof type !== 'string' || !PLUGIN_NAME_PATTERN.test(type)) throw problem(`${at}.type must match [a-z][a-z0-9-]* (at most 64 characters)`, type);
  if (seen.has(type)) throw problem(`${at}: two ${kind} types are named "${type}"; each needs its own type`);
  seen.add(type);
  if (typeof description !== 'string' || description.trim() === '' || /[\r\n]/.test(description)) {
    throw problem(`${at} (${type}).description must be one non-empty line`, description);
  }
  if (!isRecord(optionsSchema)) throw problem(`${at} (${type}).optionsSchema must be a JSON Schema object, e.g. {type: 'object', properties: {}}`, optionsSchema);
  return { type, description, optionsSchema: frozenJson(optionsSchema, `${at} (${type}).optionsSchema`) };
}

function checkRunners(list: unknown): readonly RunnerType[] {
  if (!Array.isArray(list)) throw problem('runners must be an array of runner types', list);
  const seen = new Set<string>();
  return Object.freeze(
    list.map((n: unknown, i): RunnerType => {
      const at = `runners[${i}]`;
      if (!isRecord(n)) throw problem(`${at} must be an object`, n);
      const common = checkContribution('runner', at, n, RUNNER_KEYS, seen);
      if (typeof n.command !== 'function') throw problem(`${at} (${common.type}).command must be a function (job, options) => {argv, env?}`, n.command);
      return Object.freeze({ ...common, command: n.command as RunnerType['command'] });
    }),
  );
}

/** A deep-frozen copy of plain JSON data: the host compiles it later, so the author's object may not change it. */
function frozenJson(value: Record<string, unknown>, where: string): JsonSchema {
  let copy: unknown;
  try {
    copy = JSON.parse(JSON.stringify(value));
  } catch (e) {
    throw problem(`${where} must be plain JSON data (${(e as Error).message})`);
  }
  const freeze = (v: unknown): unknown => {
    if (typeof v === 'object' && v !== null) {
      for (const child of Object.values(v)) freeze(child);
      Object.freeze(v);
    }
    return v;
  };
  return freeze(copy) as JsonSchema;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function problem(message: string, ...got: unknown[]): TypeError {
  const shown = got.length === 0 ? '' : ` (got ${describe(got[0])})`;
  return new TypeError(`definePlugin: ${message}${shown}`);
}

function describe(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return JSON.stringify(v.length > 80 ? `${v.slice(0, 80)}...` : v);
  return typeof v;
}
