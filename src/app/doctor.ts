import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import { LoomError } from '../domain/errors.js';
import type { DoctorCheck, LoomConnector } from '../ports/loom-connector.js';
import { findProjectDir, loadConfig } from './config.js';

/**
 * `loom doctor`: what works and what does not, each with a fix. Never throws
 * for a failing check: a broken setup is what it is for.
 */
export async function runDoctor(connector: LoomConnector, o: { projectDir?: string; cwd: string; env: NodeJS.ProcessEnv }): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [];
  const add = (name: string, ok: boolean | 'warn', detail: string, fix?: string) =>
    checks.push({ name, status: ok === 'warn' ? 'warn' : ok ? 'ok' : 'fail', detail, ...(fix === undefined ? {} : { fix }) });

  const given = o.projectDir ?? (o.env.LOOM_PROJECT_DIR || undefined); // an empty variable is unset
  const dir = given === undefined ? findProjectDir(o.cwd) : resolve(o.cwd, given);
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
  add('storage', true, mode === 'embedded' ? `embedded PGlite under ${dir}/.loom/data` : `Postgres at ${redact(config.database_url!)}`);

  if (config.project !== null) {
    try {
      const t0 = Date.now();
      const { api, project } = await connector.open({ projectDir: dir });
      try {
        const overview = await api.overview({ project_id: project.project_id });
        add('database', true, `answered in ${Date.now() - t0} ms; ${overview.total} tasks, ${overview.ready} ready, ${overview.escalations.length} open escalations`);
        const migrated = await connector.migrate({ projectDir: dir });
        add('migrations', true, `schema version ${migrated.version}`);
      } finally {
        await api.close();
      }
    } catch (e) {
      add('database', false, LoomError.is(e) ? `${e.code}: ${e.message}` : String(e), LoomError.is(e) ? e.hint : 'see the message above');
    }
  }
  if (mode === 'embedded') {
    const d = await connector.daemonStatus({ projectDir: dir }).catch(() => null);
    add('daemon', d?.running === true ? true : 'warn', d?.running === true ? `pid ${d.pid}, up ${d.uptime_s}s, ${d.requests} requests` : 'not running (the next command starts it)');
  }

  if (config.redis_url === null) {
    add('redis', 'warn', 'not configured: events reach other processes through the daemon (embedded) or not at all (server mode)', 'set LOOM_REDIS_URL for server mode across machines');
  } else {
    const redis = new Redis(config.redis_url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2000, retryStrategy: () => null });
    redis.on('error', () => {});
    try {
      const t0 = Date.now();
      await redis.connect();
      await redis.ping();
      add('redis', true, `${redact(config.redis_url)} answered in ${Date.now() - t0} ms (not used yet: the Redis bus and cache come with issue 4)`);
    } catch (e) {
      add('redis', false, `${redact(config.redis_url)} is unreachable (${(e as Error).message})`, 'start Redis or fix LOOM_REDIS_URL; Loom keeps working on Postgres alone');
    } finally {
      redis.disconnect();
    }
  }
  return checks;
}

const redact = (url: string): string => url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
