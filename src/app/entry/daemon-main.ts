import { statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { daemonSocketPath, daemonToken, restoreDaemonToken } from '../../adapters/embedded/daemon-address.js';
import { startDaemonServer, type DaemonInfo, type DaemonServer } from '../../adapters/embedded/daemon-server.js';
import type { PglitePool } from '../../adapters/embedded/pglite-pool.js';
import type { CompiledWasm } from '../../adapters/embedded/pglite-wasm.js';
import { EventBus } from '../../ports/event-bus.js';
import { LoomApi } from '../../ports/loom-api.js';
import type { EventSource } from '../../ports/loom-connector.js';
import { loadConfig } from '../config.js';
import type { LoomService } from '../loom-service.js';

/**
 * This file, which every build and every install of Loom writes anew: when what
 * is on disk is no longer what this process loaded, Loom was upgraded or rebuilt.
 */
const CODE_FILE = fileURLToPath(import.meta.url);
/**
 * How long the new file must have been in place before the daemon gives way to
 * it: a build or an install still writing the other files would otherwise have
 * the next daemon load half of them. (ctime: npm sets every file's mtime to 1985.)
 */
const CODE_SETTLE_MS = 10_000;
const codeStamp = (): { id: string; written: number } | null => {
  try {
    const s = statSync(CODE_FILE);
    return { id: `${s.ino}:${s.size}:${s.mtimeMs}`, written: s.ctimeMs };
  } catch {
    return null; // gone (mid-install): nothing newer to start yet
  }
};
const CODE_AT_START = codeStamp();

/** Why the daemon's code is stale, or null while the file on disk is the one it loaded (or is newer by less than CODE_SETTLE_MS). */
export function staleCode(now = Date.now()): string | null {
  const disk = codeStamp();
  if (disk === null || CODE_AT_START === null || disk.id === CODE_AT_START.id || now - disk.written < CODE_SETTLE_MS) return null;
  return `Loom's code on disk changed since this daemon started (an upgrade or a rebuild of ${CODE_FILE})`;
}

/**
 * The embedded daemon: the one process that owns a project's PGlite
 * directory. It takes the owner lock (the socket) before touching the data,
 * serves every other Loom process, and exits when idle.
 */
export async function runDaemon(
  projectDir: string,
  env: NodeJS.ProcessEnv = process.env,
  /** Postgres's WebAssembly, compiling since the process started (main.ts). */
  wasm?: Promise<CompiledWasm | null>,
): Promise<void> {
  // The database code loads while the lock is taken: both sit on the cold-start path. PGlite
  // first: it opens (its WebAssembly compiles on V8's background threads) while the rest loads.
  const started = performance.now();
  const loadingPglite = import('../../adapters/embedded/pglite-pool.js');
  loadingPglite.catch(() => undefined);
  const loading = Promise.all([
    import('../../adapters/postgres/migrator.js'),
    import('../service-factory.js'),
    import('../notifications.js'),
  ]);
  loading.catch(() => undefined);
  const config = loadConfig(projectDir, env);
  const loomDir = join(projectDir, '.loom');
  const dataDir = join(loomDir, 'data');
  const socketPath = daemonSocketPath(dataDir);
  const token = daemonToken(loomDir);
  const log = (line: string): void => {
    process.stderr.write(`${new Date().toISOString()} [daemon ${process.pid}] ${line}\n`);
  };

  let resolveApi!: (api: LoomApi) => void;
  let rejectApi!: (e: unknown) => void;
  const api = new Promise<LoomApi>((res, rej) => {
    resolveApi = res;
    rejectApi = rej;
  });
  api.catch(() => {});
  let resolveEvents!: (events: EventSource) => void;
  const events = new Promise<EventSource>((res) => (resolveEvents = res));
  const info: DaemonInfo = {
    pid: process.pid,
    data_dir: dataDir,
    started_at: new Date().toISOString(),
    idle_timeout_s: config.daemon.idle_timeout_seconds,
    schema_version: 0,
    migrations_applied: [],
  };

  let server: DaemonServer;
  let pglite: PglitePool | undefined;
  let stopping = false;
  let router: { close(): Promise<void> } | undefined;
  const stop = async (reason: string, code = 0): Promise<void> => {
    if (stopping) return;
    stopping = true;
    log(`stopping (${reason})`);
    await server.drain();
    await router?.close().catch(() => undefined);
    try {
      await (await api).close();
    } catch {
      // the database never opened
    }
    await pglite?.close();
    // The owner lock goes last: a daemon started meanwhile (by a client that found this one
    // stopping) must not open the directory while this one still has it open.
    await server.release();
    log('stopped');
    process.exit(code);
  };

  try {
    server = await startDaemonServer({
      socketPath,
      token,
      api,
      events,
      info: () => info,
      idleTimeoutMs: config.daemon.idle_timeout_seconds * 1000,
      onStop: (reason) => void stop(reason),
      log,
      staleCode: () => staleCode(),
      onBadToken: () => {
        const restored = restoreDaemonToken(loomDir, token);
        if (restored) log('a client had no or another token: wrote .loom/daemon.token back');
        return restored;
      },
    });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      log('another daemon already owns this project; exiting');
      // At once: the database code still loading (above) would keep the process alive for
      // seconds on a busy machine, for nothing.
      process.exit(0);
    }
    throw e;
  }
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  log(`owning ${dataDir}`);

  try {
    // What each part of the start-up took, for the log line (the parts overlap: PGlite opens while the code loads).
    const spent: Record<string, number> = {};
    let store = 'existing';
    const since = (t: number): number => Math.round(performance.now() - t);
    const opening = loadingPglite.then(async ({ openPglitePool }) => {
      const t = performance.now();
      const { pgliteTemplatePath } = await import('../../adapters/embedded/pglite-template.js');
      const p = await openPglitePool(dataDir, { ...(wasm === undefined ? {} : { wasm }), template: pgliteTemplatePath(env), warn: log, ...(config.daemon.shared_buffers_mb === undefined ? {} : { sharedBuffersMb: config.daemon.shared_buffers_mb }) });
      spent.pglite = since(t);
      store = p.started;
      return p;
    });
    opening.then((p) => (pglite = p), () => undefined);
    const [[{ migrate }, { createContainer }, { startNotifiers }], pool] = await Promise.all([
      loading.then((mods) => {
        spent.code = since(started);
        return mods;
      }),
      opening,
    ]);
    pglite = pool;
    let t = performance.now();
    const m = await migrate(pglite.pool);
    spent.migrations = since(t);
    t = performance.now();
    info.schema_version = m.version;
    info.migrations_applied = m.applied;
    const container = createContainer(pglite.pool, { settings: config.tasks, ownsPool: false, skills: { projectDir, env, plugins: config.plugins }, projectDirOf: config.project?.id ?? null });
    const { pluginsLogLine } = await import('../plugins.js'); // loaded with the container already
    const pluginLine = pluginsLogLine({ projectDir, env, plugins: config.plugins });
    if (pluginLine !== null) log(pluginLine);
    resolveEvents(container.get(EventBus));
    const service = container.get(LoomApi) as LoomService;
    router = startNotifiers(config, container.get(EventBus), log);
    resolveApi(service);
    // The first tick (crash recovery) a moment after start-up, then every few seconds. PGlite has
    // one connection, so a tick right away would hold up the request that started the daemon (a
    // session recovers its own project's leases before it serves anyway: loom mcp).
    setTimeout(() => void tick(service, log), FIRST_TICK_DELAY_MS).unref();
    const ticker = setInterval(() => void tick(service, log), config.orchestration.tick_seconds * 1000);
    ticker.unref();
    spent.services = since(t);
    // The code loads from the process's first moment (main.ts): "code" is what was left of it once this entry ran.
    const parts = `node and entry ${Math.round(started)} ms, then code ${spent.code} ms, PGlite ${spent.pglite} ms (${store === 'existing' ? 'an existing store' : store === 'template' ? 'a new store, from the starting copy' : 'a new store, by initdb'}; both at once, PGlite after the lock), migrations check ${spent.migrations} ms, services ${spent.services} ms`;
    log(`ready (schema ${m.version}${m.applied.length > 0 ? `, applied ${m.applied.join(', ')}` : ''}) ${Math.round(process.uptime() * 1000)} ms after spawn: ${parts}`);
    maintain(pglite, () => server.stats().requests, log);
  } catch (e) {
    log(`cannot open the database: ${(e as Error)?.stack ?? String(e)}`);
    rejectApi(e);
    setTimeout(() => void stop('start-up failed', 1), 2000);
  }
}

const MAINTENANCE_CHECK_MS = 5_000;
const REQUESTS_BETWEEN_VACUUMS = 2_000;
const FIRST_TICK_DELAY_MS = 1_000;

/**
 * PGlite runs no autovacuum: without it dead row versions pile up in the
 * ready index and stale statistics turn cheap statements into scans (seen
 * here: a completion went from 0.5 ms to 2 ms). So the daemon vacuums and
 * analyses after every burst of work, between requests.
 */
function maintain(pglite: PglitePool, requests: () => number, log: (line: string) => void): void {
  let last = requests();
  let seen = last;
  // Fresh statistics at start-up too, but only once the daemon is idle: on PGlite's one
  // connection an ANALYZE (~250 ms even when small) holds up every request behind it.
  let analyzed = false;
  let running = false;
  const timer = setInterval(() => {
    const now = requests();
    const idle = now === seen;
    seen = now;
    if (running) return;
    const burst = now - last >= REQUESTS_BETWEEN_VACUUMS;
    if (!burst && (analyzed || !idle)) return;
    analyzed = true;
    running = true;
    last = now;
    const t0 = Date.now();
    pglite.pool
      .query(burst ? 'VACUUM (ANALYZE) tasks, task_deps, events, escalations' : 'ANALYZE')
      .then(() => log(`${burst ? 'vacuumed' : 'analysed'} in ${Date.now() - t0} ms`))
      .catch((e: unknown) => log(`vacuum failed: ${String(e)}`))
      .finally(() => {
        running = false;
      });
  }, MAINTENANCE_CHECK_MS);
  timer.unref();
}

let ticking = false;

/** The reconcile tick (crash recovery included), never two at once in this process. */
async function tick(service: LoomService, log: (line: string) => void): Promise<void> {
  if (ticking) return;
  ticking = true;
  try {
    const r = await service.reconcileAll();
    const acted = Object.entries(r).filter(([, ids]) => ids.length > 0);
    if (acted.length > 0) log(`tick: ${acted.map(([k, ids]) => `${k} ${ids.length}`).join(', ')}`);
  } catch (e) {
    log(`tick failed: ${String(e)}`);
  } finally {
    ticking = false;
  }
}
