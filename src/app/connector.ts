import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import * as yaml from 'js-yaml';
import type { DaemonClient } from '../adapters/embedded/daemon-client.js';
import type { EarlyStdio } from '../adapters/mcp/early-stdio.js';
import { LoomError } from '../domain/errors.js';
import { LoomApi, type ImportResult } from '../ports/loom-api.js';
import { EventBus } from '../ports/event-bus.js';
import type { DaemonStatus, EventSource, LoomConnector, ProjectContext, StorageMode } from '../ports/loom-connector.js';
import type { PluginCommandScope } from './plugin-commands.js';
import { checkMcpJson, mcpServerEntry, writeAgentsMd, writeMcpJson, type FileChange } from './claude-code-setup.js';
import { guardSchema } from './schema-guard.js';
import { findProjectDir, loadConfig, PROJECT_CONFIG, type LoomConfig, type ProjectRecord } from './config.js';
import { isLoomHomeParent, loomHome } from './project-dir.js';
import { daemonClientFor, type EarlyDaemon } from './daemon-launch.js';
import { withDirLock } from './dir-lock.js';

export interface ConnectorOptions {
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Loom's version, reported by the MCP server. */
  version?: string;
  /** The script that runs `daemon run` (the built CLI entry). */
  daemonEntry: string;
  /** `loom mcp`'s stdin, read (and initialize answered) since the process started. */
  earlyStdio?: EarlyStdio;
  /** `loom mcp`'s project daemon, reached (and started) since the process started: the first open uses it. */
  earlyDaemon?: EarlyDaemon;
}

const noProject = (where: string): LoomError =>
  new LoomError('NO_PROJECT', `no project here: run \`loom init\` (looked in ${where} and its parents)`, {
    hint: 'run `loom init` in the project directory, or pass --project-dir / set LOOM_PROJECT_DIR',
  });

/** Opens projects in the configured storage mode: the daemon (embedded) or Postgres (server). */
export class AppConnector implements LoomConnector {
  constructor(private readonly o: ConnectorOptions) {}

  private projectDir(explicit: string | undefined): string {
    const given = explicit ?? this.o.env.LOOM_PROJECT_DIR;
    if (given !== undefined && given !== '') {
      const dir = resolve(this.o.cwd, given);
      if (!existsSync(join(dir, PROJECT_CONFIG)) || isLoomHomeParent(dir, this.o.env)) throw noProject(dir);
      return dir;
    }
    const found = findProjectDir(this.o.cwd, this.o.env);
    if (found === null) throw noProject(this.o.cwd);
    return found;
  }

  private daemonClient(projectDir: string): DaemonClient {
    return daemonClientFor(projectDir, this.o);
  }

  /** The early daemon client (`loom mcp`), for the first open of its project; null once taken or for another project. */
  private takeEarlyDaemon(projectDir: string): DaemonClient | null {
    const early = this.o.earlyDaemon;
    if (early === undefined || this.earlyDaemonTaken) return null;
    this.earlyDaemonTaken = true;
    if (early.projectDir === projectDir) return early.client;
    void early.client.close().catch(() => undefined);
    return null;
  }

  private earlyDaemonTaken = false;

  /**
   * `anyStore`: any server database will do, not only the one the project recorded (listing what a
   * database holds). The storage mode is checked always: opening the embedded store creates it.
   */
  private async apiFor(config: LoomConfig, o: { anyStore?: boolean; toServer?: boolean } = {}): Promise<{ api: LoomApi; mode: StorageMode; events: EventSource; redis?: boolean; store_id?: string }> {
    const early = this.takeEarlyDaemon(config.project_dir);
    try {
      checkStoreMode(config, o.toServer === true);
    } catch (e) {
      await early?.close().catch(() => undefined);
      throw e;
    }
    if (early !== null && config.database_url !== null) await early.close().catch(() => undefined);
    if (config.database_url !== null) {
      // Server mode only: the embedded CLI never loads the driver or the container.
      const [{ default: pg }, { ensureSchema, schemaVersion, storeIdentity }, { createContainer, createServerContainer, SERVER_MODE }] = await Promise.all([
        import('pg'),
        import('../adapters/postgres/migrator.js'),
        import('./service-factory.js'),
      ]);
      const pool = new pg.Pool({ connectionString: config.database_url, max: 10 });
      pool.on('error', () => {}); // an idle connection dropped (server restart): the next query reconnects
      let storeId: string;
      let codeVersion: number;
      try {
        codeVersion = await ensureSchema(pool);
        storeId = await storeIdentity(pool);
        if (o.anyStore !== true) checkStoreId(config, storeId);
      } catch (e) {
        await pool.end();
        throw e;
      }
      // With Redis, every process hears every other's events (through the
      // outbox relay) and `ready` reads the cache; without it, a process
      // hears its own events only and reads Postgres.
      const skills = { projectDir: config.project_dir, env: this.o.env, plugins: config.plugins };
      const projectDirOf = config.project?.id ?? null;
      const container =
        config.redis_url === null
          ? createContainer(pool, { ...SERVER_MODE, settings: config.tasks, skills, projectDirOf })
          : await createServerContainer(pool, { ...SERVER_MODE, settings: config.tasks, skills, projectDirOf, redis: { url: config.redis_url, keyPrefix: config.redis.key_prefix, cache: config.redis.cache } });
      // A newer Loom on another machine may migrate the database while this process runs.
      const api = guardSchema(container.get(LoomApi), { codeVersion, databaseVersion: () => schemaVersion(pool) });
      return { api, mode: 'server', events: container.get(EventBus), redis: config.redis_url !== null, store_id: storeId };
    }
    const client = early ?? this.daemonClient(config.project_dir);
    await client.connect();
    return { api: client, mode: 'embedded', events: client };
  }

  async open(opts: { projectDir?: string } = {}): Promise<{ api: LoomApi; project: ProjectContext; events: EventSource }> {
    try {
      const dir = this.projectDir(opts.projectDir);
      const config = loadConfig(dir, this.o.env);
      if (config.project === null) throw noProject(dir);
      const { api, mode, events, redis } = await this.apiFor(config);
      return { api, project: { project_dir: dir, project_id: config.project.id, mode, ...(redis === true ? { redis } : {}) }, events };
    } catch (e) {
      this.takeEarlyDaemon(''); // not used: closed (its connection would keep the process alive)
      throw e;
    }
  }

  async projects(opts: { projectDir?: string } = {}): ReturnType<LoomConnector['projects']> {
    const dir = resolve(this.o.cwd, opts.projectDir ?? this.o.env.LOOM_PROJECT_DIR ?? '.');
    const found = findProjectDir(dir, this.o.env) ?? dir;
    const config = loadConfig(found, this.o.env);
    const { api, mode } = await this.apiFor(config, { anyStore: true });
    try {
      return { mode, current: config.project?.id ?? null, projects: await api.projects({}) };
    } finally {
      await api.close();
    }
  }

  async ensureServerProject(opts: { projectDir?: string; databaseUrl: string }): ReturnType<LoomConnector['ensureServerProject']> {
    const dir = this.projectDir(opts.projectDir);
    const config = loadConfig(dir, this.o.env);
    if (config.project === null) throw noProject(dir);
    const { api, store_id } = await this.apiFor({ ...config, database_url: opts.databaseUrl, redis_url: null }, { toServer: true, anyStore: true });
    try {
      const project = await api.getProject({ project_id: config.project.id }).catch((e: unknown) => {
        if (LoomError.is(e) && e.code === 'PROJECT_NOT_FOUND') return null;
        throw e;
      });
      if (project !== null) return { created: false, moved: null, store_id: store_id! };
      const moved = config.project.store === 'server' ? null : await this.moveFromEmbedded(dir, config, api);
      if (moved === null) await api.createProject({ id: config.project.id, name: config.project.name });
      return { created: true, moved, store_id: store_id! };
    } finally {
      await api.close();
    }
  }

  /**
   * Copies the directory's embedded project, event log included, into `target` (a server's
   * store) through an export file under .loom, in the target's one import transaction. Null
   * when the embedded store does not hold the project (or there is none). The embedded data
   * is left as it was: a copy to fall back on.
   */
  private async moveFromEmbedded(dir: string, config: LoomConfig, target: LoomApi): Promise<ImportResult | null> {
    if (config.project === null || !existsSync(join(dir, '.loom', 'data'))) return null;
    const projectId = config.project.id;
    const path = join(dir, '.loom', `move-${process.pid}-${Date.now()}.jsonl`);
    const embedded = await this.apiFor({ ...config, database_url: null, redis_url: null, project: { ...config.project, store: 'embedded' } });
    try {
      await embedded.api.exportProject({ project_id: projectId, path, events: true });
    } catch (e) {
      if (LoomError.is(e) && e.code === 'PROJECT_NOT_FOUND') return null;
      throw e;
    } finally {
      await embedded.api.close();
    }
    try {
      return await target.importProject({ path });
    } finally {
      rmSync(path, { force: true });
    }
  }

  async importProject(opts: { projectDir?: string; path: string }): ReturnType<LoomConnector['importProject']> {
    const dir = resolve(this.o.cwd, opts.projectDir ?? this.o.env.LOOM_PROJECT_DIR ?? '.');
    const found = findProjectDir(dir, this.o.env) ?? dir;
    const config = loadConfig(found, this.o.env);
    const { api, mode } = await this.apiFor(config, { anyStore: true });
    try {
      return { mode, current: config.project?.id ?? null, result: await api.importProject({ path: opts.path }) };
    } finally {
      await api.close();
    }
  }

  async init(opts: { projectDir?: string; name?: string; project?: string }): ReturnType<LoomConnector['init']> {
    const dir = resolve(this.o.cwd, opts.projectDir ?? this.o.env.LOOM_PROJECT_DIR ?? '.');
    const loomDir = join(dir, '.loom');
    if (isLoomHomeParent(dir, this.o.env)) {
      throw new LoomError('VALIDATION_FAILED', `${loomDir} is your own Loom folder (your config, plugins, skills and workflows), so ${dir} cannot hold a project`, {
        hint: 'run `loom init` in the project\'s own folder (a repository, say); commands find its project from any folder below it',
        details: { path: dir, loom_home: loomHome(this.o.env) },
      });
    }
    checkMcpJson(dir); // refuse before anything is created, not halfway
    mkdirSync(loomDir, { recursive: true });
    // Where the team's own skills and workflows live (committed with the project).
    for (const sub of ['skills', 'workflows']) mkdirSync(join(loomDir, sub), { recursive: true });
    const gitignore = join(loomDir, '.gitignore');
    if (!existsSync(gitignore)) writeFileSync(gitignore, '# the embedded database and daemon files stay local\ndata/\ndaemon.*\n');
    const configPath = join(dir, PROJECT_CONFIG);
    // `loom init` with a database URL in an embedded project is how a project moves to a server: allowed.
    const { api, mode, store_id } = await this.apiFor(loadConfig(dir, this.o.env), { toServer: true });
    const store: Pick<ProjectRecord, 'store' | 'store_id'> = mode === 'server' ? { store: 'server', store_id: store_id! } : { store: 'embedded' };
    try {
      // Several inits at once in one directory take turns: the first creates the project, the others find it.
      return await withDirLock(join(loomDir, 'init.lock'), async () => {
        const config = loadConfig(dir, this.o.env);
        let movedTasks: ImportResult | null = null;
        let madeFromConfig = false;
        if (opts.project !== undefined) {
          // Reattach: the project must exist in this database; the config is rewritten to name it, other keys kept.
          const project = await api.getProject({ project_id: opts.project }).catch((e: unknown) => {
            if (LoomError.is(e) && e.code === 'PROJECT_NOT_FOUND') {
              throw new LoomError('PROJECT_NOT_FOUND', `no project ${opts.project} in this database`, {
                hint: '`loom project list` shows the projects this directory\'s database holds (server mode: check LOOM_DATABASE_URL)',
                details: { project_id: opts.project },
              });
            }
            throw e;
          });
          const previous = config.project?.id;
          const existing = existsSync(configPath) ? ((yaml.load(readFileSync(configPath, 'utf8')) as Record<string, unknown> | null) ?? {}) : {};
          const text = yaml.dump({ ...existing, project: { id: project.id, name: project.name, ...store } }, { lineWidth: 100 });
          writeFileSync(configPath, `# Loom project configuration (see the README for every key)\n${text}`);
          return {
            project,
            created: false,
            ...(previous !== undefined && previous !== project.id ? { previous_project: previous } : {}),
            config_path: configPath,
            mode,
            claude_code: this.setUpClaudeCode(dir),
          };
        }
        if (config.project !== null) {
          // Idempotent: the project of the config exists (again) in this database.
          const project = await api.getProject({ project_id: config.project.id }).catch(async (e: unknown) => {
            if (LoomError.is(e) && e.code === 'PROJECT_NOT_FOUND') {
              // A server-mode project recorded its database: checkStoreId has refused any other by now, so
              // missing here means it was deleted there; recreating it empty would hide that from the team.
              if (config.project!.store === 'server') {
                throw new LoomError('PROJECT_NOT_FOUND', `project ${config.project!.id} is not in its server database any more`, {
                  hint: '`loom project list` shows the projects there; `loom init --project ID` attaches this directory to one of them',
                  details: { project_id: config.project!.id },
                });
              }
              // Moving to a server: the embedded store's copy of the project goes with it, when there is one.
              if (mode === 'server') {
                const moved = await this.moveFromEmbedded(dir, config, api);
                if (moved !== null) {
                  movedTasks = moved;
                  return api.getProject({ project_id: config.project!.id });
                }
              }
              madeFromConfig = true;
              return api.createProject({ id: config.project!.id, name: config.project!.name });
            }
            throw e;
          });
          if (config.project.store !== store.store || config.project.store_id !== store.store_id) recordProject(configPath, { id: project.id, name: project.name, ...store });
          // The embedded daemon stops, so the processes that used it open the server on their next call.
          if (movedTasks !== null) await this.daemonStop({ projectDir: dir }).catch(() => undefined);
          return {
            project,
            created: madeFromConfig,
            ...(madeFromConfig ? { from_config: true as const } : {}),
            config_path: configPath,
            mode,
            ...(movedTasks === null ? {} : { moved: movedTasks }),
            claude_code: this.setUpClaudeCode(dir),
          };
        }
        const project = await api.createProject({ name: opts.name ?? basename(dir) });
        const existing = existsSync(configPath) ? ((yaml.load(readFileSync(configPath, 'utf8')) as Record<string, unknown> | null) ?? {}) : {};
        const text = yaml.dump({ project: { id: project.id, name: project.name, ...store }, ...existing }, { lineWidth: 100 });
        writeFileSync(configPath, `# Loom project configuration (see the README for every key)\n${text}`);
        const enclosing = enclosingProject(dir, this.o.env);
        return { project, created: true, config_path: configPath, mode, claude_code: this.setUpClaudeCode(dir), ...(enclosing === null ? {} : { enclosing }) };
      });
    } finally {
      await api.close();
    }
  }

  /** The `.mcp.json` entry that starts `loom mcp`, and the AGENTS.md section on how to use Loom. */
  private setUpClaudeCode(dir: string): { mcp_json: FileChange; mcp_portable: boolean; loom_dir?: string; agents_md: FileChange } {
    const { portable, ...entry } = mcpServerEntry(this.loomBin(), this.o.env, dir);
    // not portable: the entry is [node, <loom>/bin/loom.js, mcp]
    const loomDir = portable ? undefined : dirname(dirname(entry.args[0]!));
    return { mcp_json: writeMcpJson(dir, entry), mcp_portable: portable, ...(loomDir === undefined ? {} : { loom_dir: loomDir }), agents_md: writeAgentsMd(dir) };
  }

  async migrate(opts: { projectDir?: string } = {}): Promise<{ applied: string[]; version: number }> {
    const dir = this.projectDir(opts.projectDir);
    const config = loadConfig(dir, this.o.env);
    if (config.database_url !== null) {
      const [{ default: pg }, { migrate }] = await Promise.all([import('pg'), import('../adapters/postgres/migrator.js')]);
      const pool = new pg.Pool({ connectionString: config.database_url, max: 1 });
      pool.on('error', () => {});
      try {
        return await migrate(pool);
      } finally {
        await pool.end();
      }
    }
    // The daemon migrates its database before it serves anything.
    const client = this.daemonClient(dir);
    try {
      await client.connect();
      await client.getProject({ project_id: config.project?.id ?? '_' }).catch(() => undefined); // waits for start-up
      const info = await client.info();
      return { applied: info?.migrations_applied ?? [], version: info?.schema_version ?? 0 };
    } finally {
      await client.close();
    }
  }

  async daemonStatus(opts: { projectDir?: string } = {}): Promise<DaemonStatus> {
    const dir = this.projectDir(opts.projectDir);
    const config = loadConfig(dir, this.o.env);
    const dataDir = join(dir, '.loom', 'data');
    if (config.database_url !== null) {
      return { running: false, data_dir: dataDir, note: 'server mode (database_url / LOOM_DATABASE_URL): no daemon, every process talks to Postgres' };
    }
    const client = this.daemonClient(dir);
    try {
      const info = await client.info();
      if (info === null) return { running: false, data_dir: dataDir, note: 'not running: the next loom command starts it' };
      return {
        running: true,
        data_dir: info.data_dir,
        pid: info.pid,
        started_at: info.started_at,
        uptime_s: Math.round((Date.now() - Date.parse(info.started_at)) / 1000),
        idle_timeout_s: info.idle_timeout_s,
        requests: info.requests,
      };
    } finally {
      await client.close();
    }
  }

  async serveMcp(opts: { projectDir?: string; agentId?: string } = {}): Promise<void> {
    // Open the project (starting its daemon if needed) while the MCP code loads: both take a while.
    const opening = this.open(opts.projectDir === undefined ? {} : { projectDir: opts.projectDir });
    opening.catch(() => undefined);
    const { serveMcpStdio } = await import('./entry/mcp-main.js');
    await serveMcpStdio(this, { ...opts, opening, peek: this.peek(opts.projectDir), version: this.o.version ?? '0.0.0', env: this.o.env, ...(this.o.earlyStdio === undefined ? {} : { early: this.o.earlyStdio }) });
  }

  /** The project as its config describes it, without opening the store (or the error that keeps it from being found). */
  private peek(explicit: string | undefined): ProjectContext | LoomError {
    try {
      const dir = this.projectDir(explicit);
      const config = loadConfig(dir, this.o.env);
      if (config.project === null) throw noProject(dir);
      return { project_dir: dir, project_id: config.project.id, mode: config.database_url === null ? 'embedded' : 'server' };
    } catch (e) {
      if (LoomError.is(e)) return e;
      throw e;
    }
  }

  async serveHttp(opts: Parameters<LoomConnector['serveHttp']>[0]): ReturnType<LoomConnector['serveHttp']> {
    const projectDir = this.projectDir(opts.projectDir);
    const { serveMcpHttp } = await import('./entry/serve-main.js');
    return serveMcpHttp(this, { ...opts, projectDir, version: this.o.version ?? '0.0.0', env: this.o.env });
  }

  async serveDashboard(opts: Parameters<LoomConnector['serveDashboard']>[0]): ReturnType<LoomConnector['serveDashboard']> {
    const projectDir = this.projectDir(opts.projectDir);
    const { serveDashboard } = await import('./entry/dashboard-main.js');
    return serveDashboard(this, { ...opts, projectDir, env: this.o.env });
  }

  async orchestrate(opts: Parameters<LoomConnector['orchestrate']>[0]): ReturnType<LoomConnector['orchestrate']> {
    const { runOrchestrator } = await import('./entry/orchestrate-main.js');
    return runOrchestrator(this, { ...opts, env: this.o.env, loomBin: this.loomBin() });
  }

  async doctor(opts: { projectDir?: string; deep?: boolean } = {}): ReturnType<LoomConnector['doctor']> {
    const { runDoctor } = await import('./doctor.js');
    return runDoctor(this, { ...opts, cwd: this.o.cwd, env: this.o.env });
  }

  async newSkill(opts: { projectDir?: string; name: string }): Promise<{ path: string; name: string }> {
    const dir = this.projectDir(opts.projectDir);
    const { writeSkillSkeleton } = await import('./skills/skill-skeleton.js');
    return writeSkillSkeleton(dir, opts.name);
  }

  async newWorkflow(opts: { projectDir?: string; name: string }): Promise<{ path: string; name: string }> {
    const dir = this.projectDir(opts.projectDir);
    const { writeWorkflowSkeleton } = await import('./workflows/workflow-skeleton.js');
    return writeWorkflowSkeleton(dir, opts.name);
  }

  async plugins(opts: { projectDir?: string } = {}): ReturnType<LoomConnector['plugins']> {
    const dir = this.projectDir(opts.projectDir);
    const config = loadConfig(dir, this.o.env);
    const { listPlugins } = await import('./plugins.js');
    return listPlugins({ projectDir: dir, env: this.o.env, plugins: config.plugins, notifications: config.notifications });
  }

  /** The plugin commands' scope: the project when there is one (trust, add and remove also work outside any project, on the user's plugins). */
  private pluginScope(explicit: string | undefined): PluginCommandScope {
    let projectDir: string | null;
    try {
      projectDir = this.projectDir(explicit);
    } catch (e) {
      const asked = explicit ?? this.o.env.LOOM_PROJECT_DIR;
      if (!(LoomError.is(e) && e.code === 'NO_PROJECT') || (asked !== undefined && asked !== '')) throw e;
      projectDir = null;
    }
    return { projectDir, env: this.o.env, cwd: this.o.cwd, stopDaemon: async (dir) => (await this.daemonStop({ projectDir: dir })).stopped };
  }

  async pluginsTrust(opts: Parameters<LoomConnector['pluginsTrust']>[0]): ReturnType<LoomConnector['pluginsTrust']> {
    const { trustPlugin } = await import('./plugin-commands.js');
    return trustPlugin(this.pluginScope(opts.projectDir), opts.id, opts.project === true ? 'project' : 'user');
  }

  async pluginsUntrust(opts: Parameters<LoomConnector['pluginsUntrust']>[0]): ReturnType<LoomConnector['pluginsUntrust']> {
    const { untrustPlugin } = await import('./plugin-commands.js');
    return untrustPlugin(this.pluginScope(opts.projectDir), opts.id, opts.project === true);
  }

  async pluginsAdd(opts: Parameters<LoomConnector['pluginsAdd']>[0]): ReturnType<LoomConnector['pluginsAdd']> {
    const { addPlugin } = await import('./plugin-commands.js');
    return addPlugin(this.pluginScope(opts.projectDir), opts.spec, opts.project === true ? 'project' : 'user');
  }

  async pluginsRemove(opts: Parameters<LoomConnector['pluginsRemove']>[0]): ReturnType<LoomConnector['pluginsRemove']> {
    const { removePlugin } = await import('./plugin-commands.js');
    return removePlugin(this.pluginScope(opts.projectDir), opts.id);
  }

  async pluginsCheck(opts: Parameters<LoomConnector['pluginsCheck']>[0]): ReturnType<LoomConnector['pluginsCheck']> {
    const { checkPluginDir } = await import('./plugin-check.js');
    return checkPluginDir({ cwd: this.o.cwd, ...(opts.dir === undefined ? {} : { dir: opts.dir }), code: opts.code === true });
  }

  async pluginsNew(opts: Parameters<LoomConnector['pluginsNew']>[0]): ReturnType<LoomConnector['pluginsNew']> {
    const { newPlugin } = await import('./plugin-commands.js');
    return newPlugin({ cwd: this.o.cwd, name: opts.name, ...(opts.dir === undefined ? {} : { dir: opts.dir }), loomVersion: this.o.version ?? '0.1.0' });
  }

  async up(opts: Parameters<LoomConnector['up']>[0]): ReturnType<LoomConnector['up']> {
    const projectDir = this.projectDir(opts.projectDir);
    const { runUp } = await import('./compose/compose.js');
    return runUp(this, { ...opts, projectDir, env: this.o.env });
  }

  async down(opts: Parameters<LoomConnector['down']>[0]): ReturnType<LoomConnector['down']> {
    const projectDir = this.projectDir(opts.projectDir);
    const { runDown } = await import('./compose/compose.js');
    return runDown({ ...opts, projectDir, env: this.o.env });
  }

  async runDemo(opts: { dir?: string; out: (line: string) => void }): Promise<{ complete: boolean; dir: string }> {
    const { runDemo } = await import('./entry/demo-main.js');
    return runDemo(this, { ...opts, loomBin: this.loomBin(), env: this.o.env });
  }

  private loomBin(): string {
    // daemonEntry is <root>/dist/src/app/entry/main.js (built) or <root>/src/app/entry/main.ts (tests): bin/ is beside dist/ and src/.
    const root = this.o.daemonEntry.replace(/[\\/](dist[\\/])?src[\\/]app[\\/]entry[\\/]main\.[jt]s$/, '');
    return join(root, 'bin', 'loom.js');
  }

  async daemonStop(opts: { projectDir?: string } = {}): Promise<{ stopped: boolean; data_dir: string }> {
    const dir = this.projectDir(opts.projectDir);
    const client = this.daemonClient(dir);
    try {
      return { stopped: await client.stop(), data_dir: join(dir, '.loom', 'data') };
    } finally {
      await client.close();
    }
  }
}

/** Rewrites the `project` key of a project config, other keys kept. */
function recordProject(configPath: string, project: ProjectRecord): void {
  const existing = existsSync(configPath) ? ((yaml.load(readFileSync(configPath, 'utf8')) as Record<string, unknown> | null) ?? {}) : {};
  const text = yaml.dump({ ...existing, project }, { lineWidth: 100 });
  writeFileSync(configPath, `# Loom project configuration (see the README for every key)\n${text}`);
}

/**
 * Refuses to open a store other than the one the project's config records:
 * a server-mode project opened without a database URL would otherwise fall
 * back to an empty embedded database in the same directory (and `loom init`
 * there would make a second project), and an embedded project opened with
 * one would look empty. Configs that record no store are not checked.
 */
function checkStoreMode(config: LoomConfig, toServer = false): void {
  const recorded = config.project?.store;
  if (recorded === 'server' && config.database_url === null) {
    throw new LoomError('STORE_MISMATCH', `project ${config.project!.id} lives in a Postgres server database, but this process has no database URL, so it would open an empty embedded store instead`, {
      hint: 'set LOOM_DATABASE_URL to the team\'s database (for Claude Code: in the "env" of the loom entry of .mcp.json, or database_url in ~/.loom/config.yaml); `loom doctor` checks it',
      details: { project_id: config.project!.id, recorded_store: 'server', store_id: config.project!.store_id ?? null },
    });
  }
  if (recorded === 'embedded' && config.database_url !== null && !toServer) {
    throw new LoomError('STORE_MISMATCH', `project ${config.project!.id} lives in the embedded store (.loom/data), but this process has a database URL (${redactUrl(config.database_url)}), where the project is not`, {
      hint: 'unset LOOM_DATABASE_URL (and database_url in the config) to use the embedded store; to move the project (its tasks and history) to that server, run `loom init` with the URL set',
      details: { project_id: config.project!.id, recorded_store: 'embedded' },
    });
  }
}

function checkStoreId(config: LoomConfig, storeId: string): void {
  const recorded = config.project?.store_id;
  if (recorded === undefined || recorded === storeId) return;
  throw new LoomError('STORE_MISMATCH', `project ${config.project!.id} lives in the database with store id ${recorded}, but ${redactUrl(config.database_url ?? '')} is another one (store id ${storeId})`, {
    hint: 'point LOOM_DATABASE_URL at the database the team uses for this project; `loom project list` there shows its projects',
    details: { project_id: config.project!.id, recorded_store_id: recorded, store_id: storeId },
  });
}

/** A database URL without its password, for messages. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return 'the configured database URL';
  }
}

/** The project of a folder above `dir`, if any: the one commands there used until `dir` got its own. */
function enclosingProject(dir: string, env: NodeJS.ProcessEnv): { dir: string; project_id: string; name: string } | null {
  const parent = dirname(dir);
  if (parent === dir) return null;
  const outer = findProjectDir(parent, env);
  if (outer === null) return null;
  try {
    const project = loadConfig(outer, env).project;
    return project === null ? null : { dir: outer, project_id: project.id, name: project.name };
  } catch {
    return null; // a broken config above is that project's problem, not this init's
  }
}
