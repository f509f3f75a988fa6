import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import * as yaml from 'js-yaml';
import pg from 'pg';
import { migrate } from '../../adapters/postgres/migrator.js';
import { LoomError } from '../../domain/errors.js';
import type { ComposeDownOptions, ComposeDownResult, ComposeUpOptions, ComposeUpResult, LoomConnector } from '../../ports/loom-connector.js';
import { checkSettings, COMPOSE_FILE, composeProject, databaseUrl, redisUrl, writeComposeFile } from './compose-file.js';
import { loadConfig, PROJECT_CONFIG, type LoomConfig } from '../config.js';
import { probeDocker, runQuick, runStreaming, type DockerProbe } from './docker-cli.js';

const redact = (url: string): string => url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');

interface Context {
  projectDir: string;
  env: NodeJS.ProcessEnv;
}

function projectOf(o: Context): { project: { id: string; name: string }; config: LoomConfig } {
  const config = loadConfig(o.projectDir, o.env);
  if (config.project === null) {
    throw new LoomError('NO_PROJECT', `${join(o.projectDir, PROJECT_CONFIG)} has no project`, { hint: 'run `loom init` there first' });
  }
  return { project: config.project, config };
}

function dockerUnavailable(probe: Extract<DockerProbe, { ok: false }>, composeFile: string, project: string, action: 'up' | 'down', kept = false): LoomError {
  const hint =
    action === 'up'
      ? 'Loom does not need Docker. Point it at servers you already have: set LOOM_DATABASE_URL=postgres://USER:PASSWORD@HOST:5432/DB and ' +
        'LOOM_REDIS_URL=redis://HOST:6379 (or database_url and redis_url in .loom/config.yaml), then run `loom migrate` and `loom doctor`. ' +
        `Or remove database_url from the config to stay on the embedded database (no servers at all). ${COMPOSE_FILE} was ${kept ? 'kept as you edited it' : 'still written'}: ` +
        `on a machine with Docker, \`docker compose -f ${COMPOSE_FILE} -p ${project} up -d --wait\` starts the same services.`
      : 'nothing was stopped here: run `loom down` on the machine where `loom up` started the services';
  return new LoomError('DOCKER_UNAVAILABLE', probe.message, { hint, details: { reason: probe.reason, compose_file: composeFile } });
}

/** `loom up`: see the port. */
export async function runUp(connector: LoomConnector, o: ComposeUpOptions & Context): Promise<ComposeUpResult> {
  checkSettings(o);
  const { project, config } = projectOf(o);
  // Switching from the embedded database: its daemon stops, its data stays where it is.
  const fromEmbedded = config.database_url === null && existsSync(join(o.projectDir, '.loom', 'data'));
  const flags = [o.postgresPort, o.redisPort, o.postgresUser, o.postgresDb].some((v) => v !== undefined);
  const composeFile = join(o.projectDir, COMPOSE_FILE);
  const name = composeProject(project.id);
  const notes: string[] = [];
  const { settings, change } = writeComposeFile(composeFile, project, o);
  o.out(`compose file  ${composeFile} (${change === 'kept' ? `edited by hand: used as it is${flags ? ', ignoring the --postgres-*/--redis-* flags' : ''}` : change})`);

  const probe = await probeDocker(o.env);
  if (!probe.ok) throw dockerUnavailable(probe, composeFile, name, 'up', change === 'kept');
  const compose = [...probe.compose, '-f', composeFile, '-p', name];
  o.out(`starting postgres (127.0.0.1:${settings.postgresPort}) and redis (127.0.0.1:${settings.redisPort}) with ${probe.compose.join(' ')}; the first run pulls the images`);
  await composeUp(compose, o);

  const dbUrl = databaseUrl(settings);
  const migrated = await migrateWhenReady(dbUrl, composeHelp(compose));
  o.out(`postgres      ready; ${migrated.applied.length === 0 ? 'schema up to date' : `applied ${migrated.applied.length} migrations`}, version ${migrated.version}`);
  const created = await connector.ensureServerProject({ projectDir: o.projectDir, databaseUrl: dbUrl });
  if (created.moved !== null) {
    const c = created.moved.counts;
    o.out(`project       ${project.name} (${project.id}) moved from .loom/data: ${c.task} tasks, ${c.dep} edges, ${c.event} events`);
  } else if (created.created) o.out(`project       ${project.name} (${project.id}) created in the new database`);
  const rUrl = redisUrl(settings);
  await pingWhenReady(rUrl, composeHelp(compose));
  o.out('redis         ready (PING answered)');

  const configPath = join(o.projectDir, PROJECT_CONFIG);
  writeUrls(configPath, dbUrl, rUrl, created.store_id);
  o.out(`config        ${configPath}: database_url ${redact(dbUrl)}, redis_url ${rUrl}`);

  for (const key of ['LOOM_DATABASE_URL', 'LOOM_REDIS_URL'] as const) {
    if ((o.env[key] ?? '') !== '') notes.push(`${key} is set in this environment and overrides the config file: unset it to use these servers`);
  }
  if (fromEmbedded) {
    const daemon = await connector.daemonStop({ projectDir: o.projectDir }).catch(() => ({ stopped: false }));
    if (daemon.stopped) notes.push('stopped the embedded daemon of this project: restart Claude Code sessions so their loom MCP servers switch to Postgres');
    notes.push(
      created.moved !== null
        ? 'the embedded database under .loom/data is kept as it was, as a copy to fall back on; work goes to the server from now on'
        : 'the embedded database under .loom/data is kept but held no copy of this project',
    );
  }
  for (const n of notes) o.out(`note          ${n}`);
  return {
    compose_file: composeFile,
    compose_file_change: change,
    compose_project: name,
    database_url: redact(dbUrl),
    redis_url: rUrl,
    migrations_applied: migrated.applied,
    schema_version: migrated.version,
    project_created: created.created,
    moved: created.moved?.counts ?? null,
    config_path: configPath,
    notes,
  };
}

const composeHelp = (compose: string[]): string => `see \`${compose.join(' ')} logs\``;

/** `up -d --wait`, or with a Compose too old for --wait, `up -d` and then the health in `ps`. */
async function composeUp(compose: string[], o: ComposeUpOptions & Context): Promise<void> {
  const [cmd, ...base] = compose as [string, ...string[]];
  const run = (args: string[]) =>
    runStreaming(cmd, [...base, ...args], { env: o.env, cwd: o.projectDir, timeoutMs: 15 * 60_000, onLine: (line) => o.out(`  ${line.trim()}`) });
  let r = await run(['up', '-d', '--wait']);
  if (!r.ok && /(unknown|no such) (flag|option):? ['"]?--wait/i.test(`${r.stderr}\n${r.stdout}`)) {
    o.out('this Compose has no --wait: polling the health checks instead');
    r = await run(['up', '-d']);
    if (r.ok) await pollHealth(compose, o);
  }
  if (!r.ok) {
    const output = `${r.stderr}\n${r.stdout}`;
    const portTaken = /port is already allocated|address already in use/i.test(output);
    throw new LoomError('COMPOSE_FAILED', `\`${compose.join(' ')} up\` failed: ${lastLine(output) ?? `exit code ${r.code}`}`, {
      hint: portTaken
        ? 'a port is taken (often by a Postgres or Redis already running here): pick others with --postgres-port and --redis-port, or point Loom at the running servers instead'
        : `${composeHelp(compose)} for what went wrong; fix it and run \`loom up\` again`,
      details: { exit_code: r.code },
    });
  }
}

const lastLine = (text: string): string | undefined =>
  text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .at(-1);

/** Waits until both services report healthy; gives up quietly when `ps --format json` is not understood. */
async function pollHealth(compose: string[], o: ComposeUpOptions & Context): Promise<void> {
  const [cmd, ...base] = compose as [string, ...string[]];
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    const r = await runQuick(cmd, [...base, 'ps', '--format', 'json'], o.env);
    const rows = r.ok ? parsePs(r.stdout) : null;
    if (rows === null) return; // the direct connection checks that follow still wait for the servers
    const healthy = (service: string) => rows.some((row) => row.Service === service && row.Health === 'healthy');
    if (healthy('postgres') && healthy('redis')) return;
    await sleep(1000);
  }
  throw new LoomError('COMPOSE_FAILED', 'postgres and redis did not become healthy within 3 minutes', { hint: `${composeHelp(compose)}` });
}

/** `ps --format json` prints a JSON array (older Compose v2) or one object per line (newer). */
function parsePs(stdout: string): Array<{ Service?: string; Health?: string }> | null {
  const text = stdout.trim();
  try {
    if (text === '') return [];
    if (text.startsWith('[')) return JSON.parse(text) as Array<{ Service?: string; Health?: string }>;
    return text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as { Service?: string; Health?: string });
  } catch {
    return null;
  }
}

/** Migrates the new database, retrying while it is still starting (healthy can come a moment before it accepts logins). */
async function migrateWhenReady(url: string, help: string): Promise<{ applied: string[]; version: number }> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const pool = new pg.Pool({ connectionString: url, max: 1, connectionTimeoutMillis: 5000 });
    pool.on('error', () => {});
    try {
      return await migrate(pool);
    } catch (e) {
      if (LoomError.is(e) && e.code !== 'DATABASE_UNAVAILABLE' && e.code !== 'INTERNAL') throw e; // e.g. MIGRATION_AHEAD
      if (!(LoomError.is(e) && e.code === 'DATABASE_UNAVAILABLE' && Date.now() < deadline)) {
        const cause = (LoomError.is(e) ? e.cause : e) as Error | undefined;
        throw new LoomError('DATABASE_UNAVAILABLE', `the Postgres of \`loom up\` at ${redact(url)} did not accept Loom: ${cause?.message ?? String(e)}`, {
          hint: `${help}. A volume created earlier keeps the user, password and database it was created with: \`loom down --volumes\` deletes it (and its data)`,
          cause: e,
        });
      }
    } finally {
      await pool.end().catch(() => undefined);
    }
    await sleep(1000);
  }
}

async function pingWhenReady(url: string, help: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 3000, retryStrategy: () => null, disconnectTimeout: 100 });
    redis.on('error', () => {});
    try {
      await redis.connect();
      if ((await redis.ping()) === 'PONG') return;
    } catch (e) {
      if (Date.now() >= deadline) {
        throw new LoomError('COMPOSE_FAILED', `the Redis of \`loom up\` at ${url} does not answer PING: ${(e as Error).message}`, { hint: help, cause: e });
      }
    } finally {
      redis.disconnect();
    }
    await sleep(1000);
  }
}

/** The project of the config exists in the new database too (as `loom init` would make it). */
/** Sets the two URLs in the project config, and records the project's new store, keeping its other keys (in order) and its leading comment. */
function writeUrls(configPath: string, dbUrl: string, rUrl: string, storeId: string): void {
  const text = readFileSync(configPath, 'utf8');
  const header = /^(?:#[^\n]*\n)*/.exec(text)?.[0] ?? '';
  const data = (yaml.load(text) as Record<string, unknown> | null) ?? {};
  if (typeof data.project === 'object' && data.project !== null) data.project = { ...data.project, store: 'server', store_id: storeId };
  data.database_url = dbUrl;
  data.redis_url = rUrl;
  const tmp = `${configPath}.${process.pid}.tmp`;
  writeFileSync(tmp, `${header}${yaml.dump(data, { lineWidth: 100 })}`);
  renameSync(tmp, configPath);
}

/** `loom down`: see the port. */
export async function runDown(o: ComposeDownOptions & Context): Promise<ComposeDownResult> {
  const { project } = projectOf(o);
  const composeFile = join(o.projectDir, COMPOSE_FILE);
  const name = composeProject(project.id);
  const probe = await probeDocker(o.env);
  if (!probe.ok) throw dockerUnavailable(probe, composeFile, name, 'down');
  // Without the file, Compose still finds the containers by their project name.
  const compose = [...probe.compose, ...(existsSync(composeFile) ? ['-f', composeFile] : []), '-p', name];
  const [cmd, ...base] = compose as [string, ...string[]];
  o.out(`stopping ${name}${o.volumes === true ? ' and deleting its volumes (all of its tasks, events and messages)' : ''}`);
  const r = await runStreaming(cmd, [...base, 'down', ...(o.volumes === true ? ['-v'] : [])], {
    env: o.env,
    cwd: o.projectDir,
    timeoutMs: 5 * 60_000,
    onLine: (line) => o.out(`  ${line.trim()}`),
  });
  if (!r.ok) {
    throw new LoomError('COMPOSE_FAILED', `\`${compose.join(' ')} down\` failed: ${lastLine(`${r.stderr}\n${r.stdout}`) ?? `exit code ${r.code}`}`, {
      hint: 'run it by hand to see more; `docker ps` lists what is still running',
    });
  }
  const notes: string[] = [];
  const configPath = join(o.projectDir, PROJECT_CONFIG);
  const file = (yaml.load(readFileSync(configPath, 'utf8')) as { database_url?: unknown; redis_url?: unknown } | null) ?? {};
  if (file.database_url !== undefined || file.redis_url !== undefined) {
    notes.push(
      `${PROJECT_CONFIG} still names these servers: loom commands fail until \`loom up\` runs again, ` +
        'or remove database_url and redis_url from it (and set project.store to embedded, removing project.store_id) to go back to the embedded database',
    );
  }
  for (const n of notes) o.out(`note  ${n}`);
  return { compose_file: composeFile, compose_project: name, volumes_removed: o.volumes === true, notes };
}
