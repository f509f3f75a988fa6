import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import { LoomError } from '../domain/errors.js';
import type { LoomApi } from '../ports/loom-api.js';
import type { DoctorCheck, LoomConnector } from '../ports/loom-connector.js';
import { findProjectDir, loadConfig, type LoomConfig } from './config.js';
import { listPlugins } from './plugins.js';

/**
 * `loom doctor`: what works and what does not, each with a fix. Never throws
 * for a failing check: a broken setup is what it is for.
 */
export async function runDoctor(
  connector: LoomConnector,
  o: { projectDir?: string; deep?: boolean; cwd: string; env: NodeJS.ProcessEnv },
): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  const add = (name: string, ok: boolean | 'warn', detail: string, fix?: string) =>
    checks.push({ name, status: ok === 'warn' ? 'warn' : ok ? 'ok' : 'fail', detail, ...(fix === undefined ? {} : { fix }) });

  const given = o.projectDir ?? (o.env.LOOM_PROJECT_DIR || undefined); // an empty variable is unset
  const dir = given === undefined ? findProjectDir(o.cwd, o.env) : resolve(o.cwd, given);
  if (dir === null) {
    add('project', false, `no .loom/config.yaml at or above ${o.cwd}`, 'run `loom init` in the project directory');
    return checks;
  }
  let config;
  try {
    config = loadConfig(dir, o.env);
    add('config', true, config.sources.join(', '));
  } catch (e) {
    add('config', false, LoomError.is(e) ? e.message : String(e), LoomError.is(e) ? e.hint : undefined);
    return checks;
  }
  if (config.project === null) add('project', false, `${dir} has a config but no project`, 'run `loom init` there');
  else add('project', true, `${config.project.name} (${config.project.id}) in ${dir}`);
  const mode = config.database_url === null ? 'embedded' : 'server';
  if (mode === 'embedded' && config.project?.store === 'server') add('storage', false, 'the project lives in a Postgres server (project.store in the config), but no database URL is set', 'set LOOM_DATABASE_URL');
  else add('storage', true, mode === 'embedded' ? `embedded PGlite under ${dir}/.loom/data` : `Postgres at ${redact(config.database_url!)}`);

  if (config.project !== null) {
    try {
      const t0 = Date.now();
      const { api, project } = await connector.open({ projectDir: dir });
      try {
        const overview = await api.overview({ project_id: project.project_id });
        add('database', true, `answered in ${Date.now() - t0} ms; ${overview.total} tasks, ${overview.ready} ready, ${overview.escalations.length} open escalations`);
        const migrated = await connector.migrate({ projectDir: dir });
        add('migrations', true, `schema version ${migrated.version}`);
        if (config.database_url !== null) checks.push(await vacuumCheck(config.database_url));
        if (o.deep === true) checks.push(await invariantsCheck(api, project.project_id));
        const { skills, problems } = await api.skills({ project_id: project.project_id });
        if (problems.length === 0) add('skills', true, `${skills.length} skills, none broken`);
        else {
          add(
            'skills',
            'warn',
            `${skills.length} skills; ${problems.length} broken file${problems.length === 1 ? '' : 's'} skipped: ${problems.map((p) => `${p.file}:${p.line}: ${p.reason}`).join('; ')}`,
            'fix the files named above (`loom skills list` shows them too)',
          );
        }
      } finally {
        await api.close();
      }
    } catch (e) {
      add('database', false, LoomError.is(e) ? `${e.code}: ${e.message}` : String(e), LoomError.is(e) ? e.hint : 'see the message above');
    }
  }
  checks.push(await pluginsCheck(dir, o.env, config));
  if (mode === 'embedded' && config.project?.store !== 'server') {
    // (A server-mode project opened without its URL has no embedded store to look at: asking would create one.)
    const d = await connector.daemonStatus({ projectDir: dir }).catch(() => null);
    add('daemon', d?.running === true ? true : 'warn', d?.running === true ? `pid ${d.pid}, up ${d.uptime_s}s, ${d.requests} requests` : 'not running (the next command starts it)');
  }

  if (config.redis_url === null) {
    add('redis', 'warn', 'not configured: events reach other processes through the daemon (embedded) or not at all (server mode)', 'set LOOM_REDIS_URL for server mode across machines');
  } else {
    const redis = new Redis(config.redis_url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2000, retryStrategy: () => null, disconnectTimeout: 100 });
    redis.on('error', () => {});
    try {
      const t0 = Date.now();
      await redis.connect();
      await redis.ping();
      add('redis', true, `${redact(config.redis_url)} answered in ${Date.now() - t0} ms: events reach every process through it, and ready lists are cached there`);
    } catch (e) {
      add(
        'redis',
        false,
        `${redact(config.redis_url)} is unreachable (${(e as Error).message}): Loom runs degraded on Postgres alone (no live events across processes, no cache)`,
        'start Redis or fix LOOM_REDIS_URL; events committed meanwhile are relayed when it answers again',
      );
    } finally {
      redis.disconnect();
    }
    if (config.database_url !== null) checks.push(await relayCheck(config.database_url, config.redis_url, config.redis.key_prefix));
  }
  return checks;
}

/**
 * Server mode: can this role vacuum `tasks`? Loom does after bursts of claims
 * (see vacuum-after-bursts.ts); without it, claims slow down until
 * autovacuum comes by, if it is on at all.
 */
async function vacuumCheck(databaseUrl: string): Promise<DoctorCheck> {
  const [{ default: pg }, { vacuumRights }] = await Promise.all([import('pg'), import('../adapters/postgres/vacuum-after-bursts.js')]);
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  pool.on('error', () => {});
  try {
    const v = await vacuumRights(pool);
    const auto = `autovacuum is ${v.autovacuum ? 'on' : 'off'} on the server`;
    if (v.can) return { name: 'vacuum', status: 'ok', detail: `Loom vacuums the tasks table after bursts of claims; ${auto}` };
    return {
      name: 'vacuum',
      status: 'warn',
      detail: `role ${v.role} cannot vacuum the tasks table (owned by ${v.owner}): after a burst of claims each claim slows down until ${v.autovacuum ? 'autovacuum comes by' : 'someone vacuums (autovacuum is off)'}`,
      fix: `to let Loom vacuum it, give the table to this role (as ${v.owner}: ALTER TABLE tasks OWNER TO ${v.role}), or run Loom as ${v.owner}`,
    };
  } catch (e) {
    return { name: 'vacuum', status: 'warn', detail: `could not check: ${LoomError.is(e) ? `${e.code}: ${e.message}` : String(e)}` };
  } finally {
    await pool.end();
  }
}

/** `--deep`: the stored graph against its invariants (what `loom fsck` reports). */
async function invariantsCheck(api: LoomApi, projectId: string): Promise<DoctorCheck> {
  try {
    const t0 = Date.now();
    const r = await api.fsck({ project_id: projectId });
    const n = (count: number, one: string, many: string): string => `${count} ${count === 1 ? one : many}`;
    const scope = `${n(r.checked.tasks, 'task', 'tasks')}, ${n(r.checked.edges, 'dependency', 'dependencies')}, ${n(r.checked.events, 'event', 'events')} in ${Date.now() - t0} ms`;
    const due = r.totals.due === 0 ? '' : `; ${r.totals.due} due for the next tick`;
    if (r.ok) return { name: 'invariants', status: 'ok', detail: `${scope}: no violations${due}` };
    const checks = [...new Set(r.violations.map((v) => v.check))].join(', ');
    return {
      name: 'invariants',
      status: 'fail',
      detail: `${scope}: ${r.totals.violations} violation(s) (${checks})${due}`,
      fix: '`loom fsck` lists them with their task ids; `loom fsck --repair` recomputes counters, weights and the statuses they decide',
    };
  } catch (e) {
    return { name: 'invariants', status: 'fail', detail: LoomError.is(e) ? `${e.code}: ${e.message}` : String(e), ...(LoomError.is(e) && e.hint !== undefined ? { fix: e.hint } : {}) };
  }
}

/** Events waiting in the outbox longer than this mean no relay is getting them out. */
const RELAY_LAG_WARN_S = 5;

/** How far the outbox relay is behind the event log (server mode with Redis). */
async function relayCheck(databaseUrl: string, redisUrl: string, keyPrefix: string): Promise<DoctorCheck> {
  const [{ default: pg }, { PgOutboxStore }, { RedisEventBus }] = await Promise.all([
    import('pg'),
    import('../adapters/postgres/pg-outbox-store.js'),
    import('../adapters/redis/redis-event-bus.js'),
  ]);
  const pool = new pg.Pool({ connectionString: databaseUrl, max: 1 });
  pool.on('error', () => {});
  const bus = new RedisEventBus({ url: redisUrl, keyPrefix, log: () => {} });
  try {
    const lag = await new PgOutboxStore(pool, false).lag('redis');
    const accepted = lag.relay_id === '' ? null : await bus.lastAppended(lag.relay_id).catch(() => null); // Redis down: the redis line says so
    if (accepted !== null && lag.pending === 0 && comparePositions(accepted, lag.cursor) > 0) {
      return {
        name: 'relay',
        status: 'fail',
        detail: `Redis has accepted events up to position ${accepted.tx}:${accepted.id}, past the database's relay cursor ${lag.cursor.tx}:${lag.cursor.id} with nothing left to publish: new events are dropped until they pass it (was the database restored from a backup?)`,
        fix: `delete the key so the relay starts afresh: redis-cli DEL '${keyPrefix}relay:position:${lag.relay_id}'`,
      };
    }
    const age = lag.oldest_at === null ? 0 : Math.max(0, (Date.now() - Date.parse(lag.oldest_at)) / 1000);
    const detail = `${lag.pending} event(s) waiting${lag.oldest_at === null ? '' : `, the oldest for ${age.toFixed(1)} s`}; last published ${lag.published_at}`;
    if (lag.pending === 0 || age < RELAY_LAG_WARN_S) return { name: 'relay', status: 'ok', detail };
    return {
      name: 'relay',
      status: 'warn',
      detail,
      fix: 'events go out when a Loom process reaches both Postgres and Redis: check the redis line above, or run any loom command to relay them now',
    };
  } catch (e) {
    return { name: 'relay', status: 'fail', detail: LoomError.is(e) ? `${e.code}: ${e.message}` : String(e), fix: 'run `loom migrate` (the relay cursor comes with schema version 4)' };
  } finally {
    await bus.close();
    await pool.end();
  }
}

function comparePositions(a: { tx: string; id: string }, b: { tx: string; id: string }): number {
  const [at, bt, ai, bi] = [BigInt(a.tx), BigInt(b.tx), BigInt(a.id), BigInt(b.id)];
  if (at !== bt) return at < bt ? -1 : 1;
  return ai === bi ? 0 : ai < bi ? -1 : 1;
}

const redact = (url: string): string => url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');

/** The plugins found (nothing of them runs) and their problems: a broken plugin is skipped, so it is a warning. */
async function pluginsCheck(projectDir: string, env: NodeJS.ProcessEnv, config: LoomConfig): Promise<DoctorCheck> {
  const { plugins, problems } = await listPlugins({ projectDir, env, plugins: config.plugins, notifications: config.notifications });
  const active = plugins.filter((p) => p.active).length;
  const counted = `${plugins.length} plugin${plugins.length === 1 ? '' : 's'} (${active} in use, ${plugins.filter((p) => p.trusted).length} trusted)`;
  if (problems.length === 0) return { name: 'plugins', status: 'ok', detail: `${counted}, no problems` };
  return {
    name: 'plugins',
    status: 'warn',
    detail: `${counted}; ${problems.length} problem${problems.length === 1 ? '' : 's'}: ${problems.map((p) => `${p.code} ${p.message}`).join('; ')}`,
    fix: 'see `loom plugins list` for each problem and its hint',
  };
}
