/**
 * `loom up` / `loom down` with the built binary. This machine has no Docker
 * engine, so the Docker that "starts" the services is a fake on PATH that
 * records its arguments and answers like Compose v2; the URLs loom writes
 * point at the real local Postgres and Redis, in a database made for this file.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { loom, ROOT } from '../support/loom-cli.js';
import { testRedisUrl } from '../support/redis.js';

const FAKE_DOCKER = `#!/bin/sh
echo "$*" >> "$FAKE_DOCKER_LOG"
case "$*" in
  "compose version") echo "Docker Compose version v2.29.1"; exit 0 ;;
  "info --format {{.ServerVersion}}") echo "27.1.1"; exit 0 ;;
  *" up -d --wait")
    if [ -n "$FAKE_DOCKER_NO_WAIT" ]; then echo "unknown flag: --wait" >&2; exit 1; fi
    echo " Container loom-postgres-1  Healthy" >&2; exit 0 ;;
  *" up -d") exit 0 ;;
  *" ps --format json")
    echo '{"Service":"postgres","State":"running","Health":"healthy"}'
    echo '{"Service":"redis","State":"running","Health":"healthy"}'
    exit 0 ;;
  *" down"|*" down -v") exit 0 ;;
esac
echo "fake docker: unexpected: $*" >&2
exit 1
`;

/** The state of this machine: a docker client, no engine, no Compose plugin. */
const CLIENT_WITHOUT_ENGINE = `#!/bin/sh
case "$*" in
  "compose version") echo "docker: unknown command: docker compose" >&2; exit 1 ;;
  info*) echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2; exit 1 ;;
esac
exit 1
`;

const tmpDirs: string[] = [];
function tempDir(label: string): string {
  const d = mkdtempSync(join(tmpdir(), `loom-updown-${label}-`));
  tmpDirs.push(d);
  return d;
}

function binDir(script: string | null): string {
  const dir = tempDir('bin');
  if (script !== null) {
    writeFileSync(join(dir, 'docker'), script);
    chmodSync(join(dir, 'docker'), 0o755);
  }
  return dir;
}

/** A project written by hand: these tests need no daemon for it. */
function handMadeProject(): { dir: string; config: string } {
  const dir = tempDir('proj');
  mkdirSync(join(dir, '.loom'));
  const config = '# Loom project configuration (see the README for every key)\nproject:\n  id: prj-0123456789ab\n  name: updown\n';
  writeFileSync(join(dir, '.loom/config.yaml'), config);
  return { dir, config };
}

const home = tempDir('home');
const baseEnv = (path: string): Record<string, string> => ({ PATH: path, LOOM_HOME: home, LOOM_REDIS_URL: '', LOOM_DAEMON_IDLE_SECONDS: '30' });

afterAll(() => {
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});

describe('loom up without Docker', () => {
  it('exits 1 with DOCKER_UNAVAILABLE, says how to use existing servers, and still writes the compose file', async () => {
    const { dir, config } = handMadeProject();
    const r = await loom(dir, ['up'], baseEnv(binDir(null)));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('DOCKER_UNAVAILABLE: no Docker here: neither `docker` nor `docker-compose` is on PATH');
    expect(r.stderr).toMatch(/hint: .*LOOM_DATABASE_URL=postgres:\/\/.*LOOM_REDIS_URL=redis:\/\/.*\.loom\/config\.yaml.*`loom migrate`.*`loom doctor`/);
    expect(r.stderr).toContain('docker-compose.loom.yml was still written');
    expect(readFileSync(join(dir, '.loom/config.yaml'), 'utf8')).toBe(config);

    const text = readFileSync(join(dir, 'docker-compose.loom.yml'), 'utf8');
    const file = yaml.load(text) as any;
    expect(file.name).toBe('loom-prj-0123456789ab');
    expect(file.services.postgres.image).toBe('postgres:16-alpine');
    expect(file.services.postgres.ports).toEqual(['127.0.0.1:5432:5432']);
    expect(file.services.postgres.environment).toMatchObject({ POSTGRES_USER: 'loom', POSTGRES_DB: 'loom' });
    expect(file.services.postgres.environment.POSTGRES_PASSWORD).toMatch(/^[0-9a-f]{36}$/);
    expect(file.services.postgres.healthcheck.test.join(' ')).toContain('pg_isready');
    expect(file.services.postgres.volumes).toEqual(['postgres-data:/var/lib/postgresql/data']);
    expect(file.services.redis.image).toBe('redis:7-alpine');
    expect(file.services.redis.command).toEqual(['redis-server', '--appendonly', 'yes']);
    expect(file.services.redis.ports).toEqual(['127.0.0.1:6379:6379']);
    expect(file.services.redis.healthcheck.test).toEqual(['CMD', 'redis-cli', 'ping']);
    expect(file.services.redis.volumes).toEqual(['redis-data:/data']);
    expect(Object.keys(file.volumes)).toEqual(['postgres-data', 'redis-data']);

    // Again, with other ports: the file follows, the password stays (a volume keeps its first one).
    const again = await loom(dir, ['up', '--postgres-port', '5544', '--redis-port', '6655', '--json'], baseEnv(binDir(null)));
    expect(again.code).toBe(1);
    expect(JSON.parse(again.stdout).error).toMatchObject({ code: 'DOCKER_UNAVAILABLE', details: { reason: 'not_installed' } });
    const file2 = yaml.load(readFileSync(join(dir, 'docker-compose.loom.yml'), 'utf8')) as any;
    expect(file2.services.postgres.ports).toEqual(['127.0.0.1:5544:5432']);
    expect(file2.services.redis.ports).toEqual(['127.0.0.1:6655:6379']);
    expect(file2.services.postgres.environment.POSTGRES_PASSWORD).toBe(file.services.postgres.environment.POSTGRES_PASSWORD);
  });

  it('names a docker client that cannot reach an engine (this machine)', async () => {
    const { dir, config } = handMadeProject();
    const r = await loom(dir, ['up'], baseEnv(binDir(CLIENT_WITHOUT_ENGINE)));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('DOCKER_UNAVAILABLE: no Docker engine here: the docker client is installed but `docker info` cannot reach an engine');
    expect(r.stderr).toContain('Cannot connect to the Docker daemon');
    expect(r.stderr).toContain('Docker Compose is not installed either');
    expect(existsSync(join(dir, 'docker-compose.loom.yml'))).toBe(true);
    expect(readFileSync(join(dir, '.loom/config.yaml'), 'utf8')).toBe(config);
    const down = await loom(dir, ['down'], baseEnv(binDir(CLIENT_WITHOUT_ENGINE)));
    expect(down.code).toBe(1);
    expect(down.stderr).toContain('DOCKER_UNAVAILABLE: no Docker engine here');
  });

  it('refuses a port out of range before writing anything', async () => {
    const { dir } = handMadeProject();
    const r = await loom(dir, ['up', '--postgres-port', '70000'], baseEnv(binDir(null)));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('VALIDATION_FAILED: --postgres-port must be a port from 1 to 65535');
    expect(existsSync(join(dir, 'docker-compose.loom.yml'))).toBe(false);
  });
});

describe('loom up / down with Docker (a fake that records its arguments)', () => {
  let db: TestDatabase;
  let dbName: string;
  let pgPort: string;
  let redisPort: string;
  let usable = true;
  let dir: string;
  let log: string;
  let env: Record<string, string>;
  const calls = (): string[] => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []);

  beforeAll(async () => {
    db = await createTestDatabase('updown');
    const url = new URL(db.url);
    const redis = new URL(await testRedisUrl());
    dbName = url.pathname.slice(1);
    pgPort = url.port || '5432';
    redisPort = redis.port || '6379';
    // The URL loom writes is 127.0.0.1 with a generated password: a local, trust-auth Postgres takes it.
    const local = (u: URL) => ['127.0.0.1', 'localhost'].includes(u.hostname) && u.password === '';
    usable = local(url) && local(redis);
    dir = tempDir('docker');
    log = join(tempDir('log'), 'docker.log');
    env = { ...baseEnv(binDir(FAKE_DOCKER)), FAKE_DOCKER_LOG: log };
  });
  afterAll(async () => {
    if (dir !== undefined) await loom(dir, ['daemon', 'stop'], env);
    await db?.drop();
  });

  it('starts and waits for the services, migrates, creates the project and writes both URLs', async (ctx) => {
    if (!usable) ctx.skip();
    const init = await loom(dir, ['init', '--name', 'updown', '--json'], env); // embedded: its daemon starts
    expect(init.code).toBe(0);
    const project = JSON.parse(init.stdout).project;
    const configPath = join(dir, '.loom/config.yaml');
    writeFileSync(configPath, `${readFileSync(configPath, 'utf8')}tasks:\n  max_attempts: 5\n`);
    // Work made before the move goes with the project.
    const first = JSON.parse((await loom(dir, ['create', 'Before up', '--json'], env)).stdout);
    expect((await loom(dir, ['create', 'Waits on it', '--depends-on', first.id, '--json'], env)).code).toBe(0);

    const r = await loom(dir, ['up', '--postgres-port', pgPort, '--redis-port', redisPort, '--postgres-user', 'postgres', '--postgres-db', dbName, '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    const composeFile = join(dir, 'docker-compose.loom.yml');
    const compose = `compose -f ${composeFile} -p loom-${project.id}`;
    expect(calls()).toEqual(expect.arrayContaining(['compose version', 'info --format {{.ServerVersion}}', `${compose} up -d --wait`]));
    expect(r.stderr).toContain('Container loom-postgres-1  Healthy'); // Compose's progress, passed on
    expect(r.stderr).toContain('redis         ready (PING answered)');

    const migrations = readdirSync(join(ROOT, 'migrations')).filter((f) => f.endsWith('.sql'));
    expect(result).toMatchObject({
      compose_file: composeFile,
      compose_file_change: 'created',
      compose_project: `loom-${project.id}`,
      database_url: `postgres://postgres:***@127.0.0.1:${pgPort}/${dbName}`,
      redis_url: `redis://127.0.0.1:${redisPort}`,
      project_created: true,
      moved: expect.objectContaining({ task: 2, dep: 1 }),
      // The highest number, not the count: numbers may be reserved and land later (0013 came before 0011).
      schema_version: Math.max(...migrations.map((f) => Number(f.slice(0, 4)))),
    });
    expect(r.stderr).toMatch(/moved from \.loom\/data: 2 tasks, 1 edges, \d+ events/);
    expect(result.migrations_applied).toHaveLength(migrations.length);
    expect(result.notes.join('\n')).toContain('stopped the embedded daemon');

    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      expect(Number((await client.query('SELECT count(*) AS n FROM loom_migrations')).rows[0].n)).toBe(migrations.length);
      expect((await client.query('SELECT name FROM projects WHERE id = $1', [project.id])).rows).toEqual([{ name: 'updown' }]);
    } finally {
      await client.end();
    }

    const text = readFileSync(configPath, 'utf8');
    expect(text.startsWith('# Loom project configuration')).toBe(true);
    const config = yaml.load(text) as any;
    const password = (yaml.load(readFileSync(composeFile, 'utf8')) as any).services.postgres.environment.POSTGRES_PASSWORD;
    expect(config).toEqual({
      project: { id: project.id, name: 'updown', store: 'server', store_id: expect.stringMatching(/^[0-9a-f-]{36}$/) },
      tasks: { max_attempts: 5 },
      database_url: `postgres://postgres:${password}@127.0.0.1:${pgPort}/${dbName}`,
      redis_url: `redis://127.0.0.1:${redisPort}`,
    });

    // Every command now works against those servers.
    const doctor = await loom(dir, ['doctor', '--json'], env);
    expect(doctor.code, doctor.stdout).toBe(0);
    const checks = Object.fromEntries(JSON.parse(doctor.stdout).map((c: any) => [c.name, c]));
    expect(checks.storage.detail).toContain(`Postgres at postgres://postgres:***@127.0.0.1:${pgPort}/${dbName}`);
    expect(checks.database.status).toBe('ok');
    expect(checks.redis.status).toBe('ok');
    const created = await loom(dir, ['create', 'After up', '--json'], env);
    expect(created.code, created.stderr).toBe(0);
    const status = await loom(dir, ['status', '--json'], env);
    expect(JSON.parse(status.stdout)).toMatchObject({ project: { id: project.id }, total: 3, ready: 2 });
    expect((await loom(dir, ['fsck', '--json'], env)).code).toBe(0);
    const check = new pg.Client({ connectionString: db.url });
    await check.connect();
    try {
      expect((await check.query('SELECT title FROM tasks WHERE project_id = $1 ORDER BY created_at', [project.id])).rows).toEqual([{ title: 'Before up' }, { title: 'Waits on it' }, { title: 'After up' }]);
    } finally {
      await check.end();
    }
  });

  it('a second `loom up` keeps the ports, names and password, and has nothing to migrate', async (ctx) => {
    if (!usable) ctx.skip();
    const before = readFileSync(join(dir, 'docker-compose.loom.yml'), 'utf8');
    const r = await loom(dir, ['up', '--json'], env);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ compose_file_change: 'unchanged', migrations_applied: [], project_created: false });
    expect(readFileSync(join(dir, 'docker-compose.loom.yml'), 'utf8')).toBe(before);
  });

  it('polls the health in `compose ps` when Compose has no --wait', async (ctx) => {
    if (!usable) ctx.skip();
    writeFileSync(log, '');
    const r = await loom(dir, ['up'], { ...env, FAKE_DOCKER_NO_WAIT: '1' });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('this Compose has no --wait: polling the health checks instead');
    const tail = calls().filter((c) => c.startsWith('compose -f')).map((c) => c.replace(/^compose -f \S+ -p \S+ /, ''));
    expect(tail).toEqual(['up -d --wait', 'up -d', 'ps --format json']);
  });

  it('down stops the services (and with --volumes deletes their data) and leaves the config alone', async (ctx) => {
    if (!usable) ctx.skip();
    const config = readFileSync(join(dir, '.loom/config.yaml'), 'utf8');
    writeFileSync(log, '');
    const down = await loom(dir, ['down'], env);
    expect(down.code, down.stderr).toBe(0);
    expect(down.stdout).toContain('still names these servers: loom commands fail until `loom up` runs again');
    expect(calls().at(-1)).toMatch(/^compose -f \S+docker-compose\.loom\.yml -p loom-\S+ down$/);

    const withVolumes = await loom(dir, ['down', '--volumes', '--json'], env);
    expect(withVolumes.code, withVolumes.stderr).toBe(0);
    expect(JSON.parse(withVolumes.stdout)).toMatchObject({ volumes_removed: true });
    expect(calls().at(-1)).toMatch(/ down -v$/);
    expect(readFileSync(join(dir, '.loom/config.yaml'), 'utf8')).toBe(config);
  });
});
