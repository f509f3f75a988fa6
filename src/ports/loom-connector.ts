import type { ServiceIdentifier } from 'inversify';
import type { Project } from '../domain/task.js';
import type { EventHandler } from './event-bus.js';
import type { ImportResult, LoomApi } from './loom-api.js';

export interface DoctorCheck {
  name: string;
  status: 'ok' | 'warn' | 'fail';
  detail: string;
  fix?: string;
}

/** Live events of a project as they commit, wherever they were made. Returns the unsubscribe function. */
export interface EventSource {
  subscribe(projectId: string, handler: EventHandler): () => void;
  /**
   * Resolves once every subscription made so far hears new events. A source in another process
   * (the embedded daemon) starts hearing a moment after `subscribe` returns; absent, at once.
   */
  settled?(): Promise<void>;
}

export type StorageMode = 'embedded' | 'server';

export interface ProjectContext {
  project_dir: string;
  project_id: string;
  mode: StorageMode;
  /**
   * Server mode with Redis: the EventSource hears every process's events
   * (through the outbox relay). Without Redis, server mode hears only this
   * process's own; embedded mode always hears every process (the daemon).
   */
  redis?: boolean;
}

export interface DaemonStatus {
  running: boolean;
  data_dir: string;
  pid?: number;
  started_at?: string;
  uptime_s?: number;
  idle_timeout_s?: number;
  requests?: number;
  /** Server mode has no daemon: the reason is given here. */
  note?: string;
}

export interface ComposeUpOptions {
  projectDir?: string;
  /** Host ports (bound to 127.0.0.1); default: the compose file's, else 5432 and 6379. */
  postgresPort?: number;
  redisPort?: number;
  /** The Postgres role and database the container creates; default: the compose file's, else `loom`. */
  postgresUser?: string;
  postgresDb?: string;
  out: (line: string) => void;
}

export interface ComposeUpResult {
  compose_file: string;
  /** `kept`: the file was edited by hand (no generated header) and used as it is. */
  compose_file_change: 'created' | 'updated' | 'unchanged' | 'kept';
  compose_project: string;
  /** The password is masked; the config file holds the real URL. */
  database_url: string;
  redis_url: string;
  migrations_applied: string[];
  schema_version: number;
  project_created: boolean;
  /** Rows copied from the embedded store (.loom/data) into the new database; null when none were. */
  moved: ImportResult['counts'] | null;
  config_path: string;
  notes: string[];
}

export interface ComposeDownOptions {
  projectDir?: string;
  /** Also delete the named volumes: every task, event and message in them. */
  volumes?: boolean;
  out: (line: string) => void;
}

export interface ComposeDownResult {
  compose_file: string;
  compose_project: string;
  volumes_removed: boolean;
  notes: string[];
}

/** What `loom serve` reports once it listens. */
export interface ServeInfo {
  /** The endpoint of the project served: `http://host:port/mcp`. */
  url: string;
  host: string;
  port: number;
  project: { id: string; name: string };
  mode: StorageMode;
  /** Where the bearer token came from: `LOOM_TOKEN` or a config file's path (null: named tokens only). */
  token_source: string | null;
  /** The names of the named tokens it also accepts (serve.tokens). */
  token_names: string[];
}

export interface ServeHttpOptions {
  projectDir?: string;
  /** Default: config `serve.port`, else 7411 (0: any free port). */
  port?: number;
  /** Default: config `serve.host`, else 127.0.0.1. */
  host?: string;
  /** Called once, when the server listens. */
  onReady: (info: ServeInfo) => void;
  /** Sessions opening and closing, start-up ticks, shutdown. */
  log: (line: string) => void;
}

/** What `loom dashboard` reports once it listens. */
export interface DashboardInfo {
  /** The page's address with the one-time sign-in token in it: open it once; the token is swapped for a cookie at once. */
  url: string;
  host: string;
  port: number;
  project: { id: string; name: string };
  mode: StorageMode;
}

export interface ServeDashboardOptions {
  projectDir?: string;
  /** Default: any free port. Always on 127.0.0.1. */
  port?: number;
  /** Try to open a browser on the URL (only where a display is found; failures are ignored). */
  open: boolean;
  onReady: (info: DashboardInfo) => void;
  /** Sign-ins, actions, shutdown: never a token. */
  log: (line: string) => void;
}

/** Where a plugin was found: the project's package.json, the user plugin folder, or config `plugins.paths`. */
export type PluginOrigin = 'project' | 'user' | 'path';

/** A problem with a plugin (or with plugin config): a stable code, what is wrong, and how to fix it. */
export interface PluginProblem {
  /** The package name (or, when it has none, its directory). */
  package: string;
  id?: string;
  /** The manifest field at fault, e.g. `loom.skills`. */
  field?: string;
  code: string;
  message: string;
  hint: string;
  /** `warning`: nothing is skipped (a trust entry naming no plugin). */
  severity: 'error' | 'warning';
}

/** One discovered plugin package: what its manifest says and whether Loom uses it. */
export interface DiscoveredPlugin {
  id: string;
  package: string;
  version: string;
  /** Its directory (real path). */
  dir: string;
  source: PluginOrigin;
  /** The plugin API range its manifest asks for (null when the manifest has none). */
  api_version: string | null;
  /** Whether the host's plugin API version falls in that range. */
  api_fits: boolean;
  /** Listed in config `plugins.trust` (code runs only for trusted plugins). */
  trusted: boolean;
  /** Absolute folders and entry, or null when the manifest declares none. */
  skills: string | null;
  workflows: string | null;
  main: string | null;
  /** Its own problems: with any error it contributes nothing. */
  errors: PluginProblem[];
}

/** A notifier type a plugin's code contributes, as `loom plugins info` shows it. */
export interface PluginNotifierTypeInfo {
  /** Namespaced, as configured: `<plugin-id>/<type>`. */
  type: string;
  description: string;
  /** The JSON Schema its options are validated against. */
  options_schema: Record<string, unknown>;
}

/** A configured notifier (config `notifications.notifiers`) of a plugin's type, and how it is doing. */
export interface PluginNotifierState {
  name: string;
  type: string;
  /**
   * configured: it would start (nothing runs it now: no owner process is up); running, disabled (hung
   * too often), not_started: as the process that owns the project's notifiers (the daemon, or `loom
   * orchestrate` in server mode) reports it; not_startable: it cannot start (see the problem).
   */
  state: 'configured' | 'running' | 'disabled' | 'not_started' | 'not_startable';
  failures: number;
  hangs: number;
  last_error: string | null;
}

/** A plugin as `loom plugins list` shows it: what it contributes. */
export interface PluginInfo extends DiscoveredPlugin {
  /** Whether its skills and workflows are served (the API fits and it has no errors). */
  active: boolean;
  /**
   * Its code: none (no `main`), untrusted (not imported), loaded, failed (see errors). The
   * listing imports a trusted plugin's code to see what it contributes (no factory runs).
   */
  code: 'none' | 'untrusted' | 'loaded' | 'failed' | 'not_used';
  /** runner_types: for `loom orchestrate --runner` (plugin API 1.4), described as notifier types are. */
  contributes: { skills: number; workflows: number; code: boolean; notifier_types: PluginNotifierTypeInfo[]; runner_types: PluginNotifierTypeInfo[] };
  /** The configured notifiers of its types. */
  notifiers: PluginNotifierState[];
}

export interface PluginList {
  /** The host's plugin API version. */
  api_version: string;
  /** When the process owning the project's notifiers last reported on plugin notifiers (null: none runs). */
  runtime_reported_at: string | null;
  plugins: PluginInfo[];
  /** Every problem: each plugin's errors and the config's (trust entries naming no plugin). */
  problems: PluginProblem[];
}

/** Where a plugin setting lives: the user's config (~/.loom/config.yaml) or the project's (.loom/config.yaml). */
export type PluginConfigScope = 'user' | 'project';

/** What a trust change means for processes that already loaded plugins. */
export interface PluginRestart {
  /** Embedded: the project's daemon was stopped (the next command starts one that reads the new config). */
  daemon_stopped: boolean;
  /** What the user should know or do: e.g. restart `loom orchestrate` processes in server mode. */
  note: string;
}

/** `loom plugins trust`. */
export interface PluginTrustResult {
  id: string;
  package: string;
  /** False: it was trusted there already (nothing written). */
  changed: boolean;
  scope: PluginConfigScope;
  config_path: string;
  /** The code that now runs (the plugin's main file), or null when it has none. */
  main: string | null;
  restart: PluginRestart | null;
}

/** `loom plugins untrust`. */
export interface PluginUntrustResult {
  id: string;
  /** The config files it was removed from (none: it was not trusted in any). */
  removed_from: Array<{ scope: PluginConfigScope; config_path: string }>;
  /** Config files that still trust it (another scope than the one asked, with --project). */
  still_trusted_in: Array<{ scope: PluginConfigScope; config_path: string }>;
  restart: PluginRestart | null;
}

/** `loom plugins add`. */
export interface PluginAddResult {
  scope: PluginConfigScope;
  spec: string;
  /** What ran (user scope), or the line for the user to run in the project (project scope). */
  command: string[];
  installed: boolean;
  /** User scope: the plugin as discovered after the install. */
  plugin?: PluginInfo;
  /** User scope: whether it was new (false: reinstalled or updated). */
  added?: boolean;
  /** User scope: the project's daemon stopped so the next one serves the plugin (null outside a project). */
  restart?: PluginRestart | null;
}

/** `loom plugins remove`. */
export interface PluginRemoveResult {
  id: string;
  package: string;
  source: PluginOrigin;
  /** User plugins: npm removed it. Project dependencies: nothing changed (see command). */
  removed: boolean;
  /** What ran, or the line for the user to run. */
  command: string[];
  /** The user config file it was dropped from plugins.trust of (null: it was not trusted there). */
  untrusted_in: string | null;
  restart: PluginRestart | null;
}

/** `loom plugins new`. */
export interface PluginNewResult {
  id: string;
  package: string;
  dir: string;
  files: string[];
  next_steps: string[];
}

/** A problem `loom plugins check` found, with the file and line for a skill or workflow file. */
export interface PluginCheckProblem {
  code: string;
  message: string;
  hint: string;
  severity: 'error' | 'warning';
  /** Relative to the package folder. */
  file?: string;
  line?: number;
}

/** `loom plugins check`: a plugin package checked as Loom loads it, before it is installed anywhere. */
export interface PluginCheckResult {
  /** The package folder (absolute). */
  dir: string;
  /** null when the folder is not a Loom plugin at all (see problems). */
  package: string | null;
  id: string | null;
  version: string | null;
  /** The plugin API range its manifest asks for. */
  api_version: string | null;
  /** This Loom's plugin API version, and whether the range admits it. */
  host_api_version: string;
  api_fits: boolean;
  /** Its code: none (no main), not_checked (without --code nothing of it runs), loaded, or failed (see problems). */
  code: 'none' | 'not_checked' | 'loaded' | 'failed';
  /** Names of the skills and workflows that parse (namespaced `<id>/<name>`). */
  skills: string[];
  workflows: string[];
  /** With --code: the notifier and runner types it contributes (`<id>/<type>`). */
  notifier_types: string[];
  runner_types: string[];
  problems: PluginCheckProblem[];
  /** How the check went about it (say, loom-agents given to code that had none beside it). */
  notes: string[];
  /** No error among the problems (warnings allowed). */
  ok: boolean;
}

/**
 * What the driving adapters (CLI, MCP) need from the composition root:
 * open a project's API in the configured storage mode, and the operator
 * actions that exist outside any project (init, migrate, the daemon).
 */
export interface LoomConnector {
  /** Opens the project found from `projectDir` (or LOOM_PROJECT_DIR, or the cwd). Throws NO_PROJECT when none. */
  open(opts?: { projectDir?: string }): Promise<{ api: LoomApi; project: ProjectContext; events: EventSource }>;
  /**
   * Creates `.loom/config.yaml` with a new project; a second call returns the
   * existing one. With `project`, attaches the directory to that existing
   * project of the database instead (a lost or rewritten config).
   */
  init(opts: { projectDir?: string; name?: string; project?: string }): Promise<{
    project: Project;
    created: boolean;
    /** With `project`: the project the config named before, when it named another. */
    previous_project?: string;
    config_path: string;
    mode: StorageMode;
    /** What init did to the Claude Code files of the project. */
    /**
     * mcp_portable: false when .mcp.json had to name this machine's node and Loom (a teammate's clone cannot use it);
     * loom_dir is then the folder of the Loom that was named (where `npm link` puts it on the PATH).
     */
    claude_code: { mcp_json: 'created' | 'updated' | 'unchanged'; mcp_portable: boolean; loom_dir?: string; agents_md: 'created' | 'updated' | 'unchanged' };
    /** Moving an embedded project to a server (a database URL given): what was copied from .loom/data. */
    moved?: ImportResult;
    /** Created with the id and name the config names, in a store that did not hold it (a fresh clone of an embedded project, say). */
    from_config?: true;
    /** A new project made inside the folder of another: that project (commands under this folder now use the new one). */
    enclosing?: { dir: string; project_id: string; name: string };
  }>;
  /**
   * Makes sure the directory's project is in the server database at `databaseUrl`: there
   * already, or moved there from the embedded store (tasks, edges, events and all), or
   * created empty when the embedded store does not hold it. Used by `loom up`.
   */
  ensureServerProject(opts: { projectDir?: string; databaseUrl: string }): Promise<{ created: boolean; moved: ImportResult | null; store_id: string }>;
  migrate(opts?: { projectDir?: string }): Promise<{ applied: string[]; version: number }>;
  /** Every project of the database this directory's config points at, with counts; works without a project in the config. */
  projects(opts?: { projectDir?: string }): Promise<{ mode: StorageMode; current: string | null; projects: Array<Project & { counts: Partial<Record<string, number>> }> }>;
  /** Imports a `loom export` file into the database this directory's config points at (see LoomApi.importProject); works without a project in the config. */
  importProject(opts: { projectDir?: string; path: string }): Promise<{ mode: StorageMode; current: string | null; result: ImportResult }>;
  daemonStatus(opts?: { projectDir?: string }): Promise<DaemonStatus>;
  daemonStop(opts?: { projectDir?: string }): Promise<{ stopped: boolean; data_dir: string }>;
  /**
   * Serves MCP over this process's stdin/stdout (what Claude Code spawns)
   * until the client goes away or a signal asks it to stop.
   */
  serveMcp(opts?: { projectDir?: string; agentId?: string }): Promise<void>;
  /**
   * `loom serve`: MCP over Streamable HTTP for a shared team server, every
   * request checked against the bearer token, until SIGINT/SIGTERM. Throws
   * TOKEN_REQUIRED (before opening anything) when no token is configured.
   */
  serveHttp(opts: ServeHttpOptions): Promise<{ sessions: number }>;
  /**
   * `loom dashboard`: the live dashboard of the project on 127.0.0.1, behind a random
   * token made for this run, until SIGINT/SIGTERM. Works in every storage mode.
   */
  serveDashboard(opts: ServeDashboardOptions): Promise<void>;
  /** `loom orchestrate`: the reconcile loop, and with `run` the agent runner; prints through `out`. */
  orchestrate(opts: {
    projectDir?: string;
    once?: boolean;
    intervalSeconds?: number;
    run?: string;
    /** Instead of `run`: a plugin's runner type, `<plugin-id>/<type>`, and its options (checked against its schema; absent: config `orchestration.runner_options[runner]`, else none). */
    runner?: string;
    runnerOptions?: Record<string, unknown>;
    concurrency?: number;
    timeoutSeconds?: number;
    exitWhenIdle?: boolean;
    agentId?: string;
    /** Telling a rate-limited job from a failed one, beside Claude Code's own messages (always recognised). */
    rateLimit?: { exitCodes?: number[]; pattern?: string; waitSeconds?: number };
    out: (line: string) => void;
  }): Promise<{
    ticks: number;
    dispatched: { done: string[]; failed: string[]; dead_lettered: string[]; timed_out: string[]; lease_lost: string[]; released: string[]; rate_limited: string[] } | null;
  }>;
  /** `loom doctor`: every part of the setup checked, each failure with a fix; `deep` adds the graph's invariants (`loom fsck`). */
  doctor(opts?: { projectDir?: string; deep?: boolean }): Promise<DoctorCheck[]>;
  /** `loom skills new`: writes a valid skill skeleton to the project's .loom/skills/NAME.md; never overwrites. */
  newSkill(opts: { projectDir?: string; name: string }): Promise<{ path: string; name: string }>;
  /** `loom workflow new`: writes a valid, commented workflow skeleton to the project's .loom/workflows/NAME.yaml; never overwrites. */
  newWorkflow(opts: { projectDir?: string; name: string }): Promise<{ path: string; name: string }>;
  /** `loom plugins list/info`: the plugins discovered for the project (no plugin code runs), with every problem. */
  plugins(opts?: { projectDir?: string }): Promise<PluginList>;
  /** `loom plugins trust`: adds a discovered plugin's id to plugins.trust of the user config (or the project's), comments kept; restarts what loaded plugins. */
  pluginsTrust(opts: { projectDir?: string; id: string; project?: boolean }): Promise<PluginTrustResult>;
  /** `loom plugins untrust`: removes the id from plugins.trust of every config file listing it (with `project`, the project's only). */
  pluginsUntrust(opts: { projectDir?: string; id: string; project?: boolean }): Promise<PluginUntrustResult>;
  /** `loom plugins add`: npm-installs a plugin into the user plugin folder (scripts off); with `project`, only says what to run. */
  pluginsAdd(opts: { projectDir?: string; spec: string; project?: boolean }): Promise<PluginAddResult>;
  /** `loom plugins remove`: uninstalls a user-folder plugin (and drops its trust); a project dependency: says what to run. */
  pluginsRemove(opts: { projectDir?: string; id: string }): Promise<PluginRemoveResult>;
  /** `loom plugins new`: writes a plugin package skeleton (checked as Loom loads it) to DIR/loom-plugin-NAME. */
  pluginsNew(opts: { name: string; dir?: string }): Promise<PluginNewResult>;
  /** `loom plugins check`: the plugin package in DIR checked as Loom loads it (its code imported only with `code`). */
  pluginsCheck(opts: { dir?: string; code?: boolean }): Promise<PluginCheckResult>;
  /** `loom demo`: a small project worked by three simulated agents over MCP; prints through `out`. */
  runDemo(opts: { dir?: string; out: (line: string) => void }): Promise<{ complete: boolean; dir: string }>;
  /** `loom up`: Postgres and Redis in Docker for this project, migrated, their URLs written to the config; prints through `out`. */
  up(opts: ComposeUpOptions): Promise<ComposeUpResult>;
  /** `loom down`: stops (with `volumes`, also deletes) what `loom up` started; the config is left alone. */
  down(opts: ComposeDownOptions): Promise<ComposeDownResult>;
}
export const LoomConnector: ServiceIdentifier<LoomConnector> = Symbol.for('loom.LoomConnector');
