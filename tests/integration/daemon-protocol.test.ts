/**
 * The embedded daemon's wire protocol, in-process: the real LoomService over
 * an in-memory PGlite, served on an abstract socket and reached through the
 * DaemonClient every `loom` process uses.
 */
import { openTestPglite } from '../support/pglite.js';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DaemonClient } from '../../src/adapters/embedded/daemon-client.js';
import { startDaemonServer, type DaemonServer } from '../../src/adapters/embedded/daemon-server.js';
import { MAX_LINE_BYTES } from '../../src/adapters/embedded/json-lines.js';
import { LoomError } from '../../src/domain/errors.js';
import type { PglitePool } from '../../src/adapters/embedded/pglite-pool.js';
import { migrate } from '../../src/adapters/postgres/migrator.js';
import { serviceForPool } from '../../src/app/service-factory.js';
import type { EventBus } from '../../src/ports/event-bus.js';
import type { LoomApi } from '../../src/ports/loom-api.js';
import { until } from '../support/until.js';

const info = () => ({ pid: process.pid, data_dir: 'memory', started_at: new Date().toISOString(), idle_timeout_s: 1, schema_version: 1, migrations_applied: [] });
const socketPath = () => `\0loom-test-${randomBytes(8).toString('hex')}`;

describe('daemon protocol', () => {
  let pglite: PglitePool;
  let api: LoomApi;
  let bus: EventBus;
  const servers: DaemonServer[] = [];

  const serve = async (path: string, token: string, idleTimeoutMs = 60_000, onStop: (r: string) => void = () => {}) => {
    const s = await startDaemonServer({ socketPath: path, token, api: Promise.resolve(api), events: Promise.resolve(bus), info, idleTimeoutMs, onStop, log: () => {} });
    servers.push(s);
    return s;
  };

  /** A client's spawnDaemon that serves `path` in-process, counting the starts. */
  const nextDaemon = (path: string) => {
    const next = {
      spawned: 0,
      spawn: () => {
        next.spawned++;
        // Two clients may each start one: the second finds the socket taken and goes, as a real daemon does.
        serve(path, 't').catch((e: NodeJS.ErrnoException) => {
          if (e.code !== 'EADDRINUSE') throw e;
        });
      },
    };
    return next;
  };

  beforeAll(async () => {
    pglite = await openTestPglite();
    await migrate(pglite.pool);
    ({ service: api, bus } = serviceForPool(pglite.pool, { ownsPool: false }));
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
    await pglite.close();
  });

  it('serves the API with coded errors, many calls in flight on one connection', async () => {
    const path = socketPath();
    await serve(path, 'secret');
    const client = new DaemonClient({ socketPath: path, token: 'secret', spawnDaemon: () => {} });
    const project = await client.createProject({ name: 'wire' });
    const tasks = await Promise.all(
      Array.from({ length: 50 }, (_, i) => client.createTask({ project_id: project.id, title: `t${i}`, origin: { kind: 'test', id: 'x' } })),
    );
    expect(new Set(tasks.map((t) => t.id)).size).toBe(50);
    await expect(client.status({ project_id: project.id, task_id: 'loom-00000000' })).rejects.toMatchObject({ code: 'TASK_NOT_FOUND' });
    await expect(client.createTask({ project_id: project.id, title: '', origin: { kind: 'a', id: 'b' } })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    expect((await client.info())?.requests).toBeGreaterThanOrEqual(52);
    await client.close();
  });

  it('answers a reply too large to carry with RESPONSE_TOO_LARGE, and the connection stays usable', async () => {
    const path = socketPath();
    // A service whose status answer is bigger than one line may carry (as a 9 x 4 MiB list once was).
    const huge = new Proxy(api, {
      get: (target, name, receiver) =>
        name === 'overview' ? async () => ({ blob: 'x'.repeat(MAX_LINE_BYTES + 1024) }) : Reflect.get(target, name, receiver),
    });
    const s = await startDaemonServer({ socketPath: path, token: 't', api: Promise.resolve(huge), events: Promise.resolve(bus), info, idleTimeoutMs: 60_000, onStop: () => {}, log: () => {} });
    servers.push(s);
    const client = new DaemonClient({ socketPath: path, token: 't', spawnDaemon: () => {} });
    const project = await client.createProject({ name: 'big replies' });
    const error = await client.overview({ project_id: project.id }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: 'RESPONSE_TOO_LARGE', details: { method: 'overview' } });
    expect((error as LoomError).hint).toBeTruthy();
    expect(await client.getProject({ project_id: project.id })).toMatchObject({ id: project.id });
    await client.close();
  });

  it('refuses to send a request too large for the daemon, as VALIDATION_FAILED, before anything reaches it', async () => {
    const path = socketPath();
    const server = await serve(path, 't');
    const client = new DaemonClient({ socketPath: path, token: 't', spawnDaemon: () => {} });
    const project = await client.createProject({ name: 'big requests' });
    const before = server.stats().requests;
    await expect(
      client.createTask({ project_id: project.id, title: 't', origin: { kind: 'a', id: 'b' }, context: { blob: 'x'.repeat(MAX_LINE_BYTES) } }),
    ).rejects.toMatchObject({ code: 'VALIDATION_FAILED', details: { method: 'createTask' } });
    expect(server.stats().requests).toBe(before);
    expect(await client.getProject({ project_id: project.id })).toMatchObject({ id: project.id });
    await client.close();
  });

  it('refuses a client without the token', async () => {
    const path = socketPath();
    const server = await serve(path, 'right-token');
    const client = new DaemonClient({ socketPath: path, token: 'wrong-token', spawnDaemon: () => {} });
    await expect(client.createProject({ name: 'x' })).rejects.toMatchObject({ code: 'DAEMON_UNAVAILABLE', message: 'bad daemon token' });
    expect(server.stats().requests).toBe(0);
    await client.close();
  });

  it('starts a daemon when none listens, and only once for concurrent first calls', async () => {
    const path = socketPath();
    let spawned = 0;
    const client = new DaemonClient({
      socketPath: path,
      token: 't',
      spawnDaemon: () => {
        spawned++;
        setTimeout(() => void serve(path, 't'), 100);
      },
    });
    const results = await Promise.all([client.createProject({ name: 'a' }), client.createProject({ name: 'b' }), client.createProject({ name: 'c' })]);
    expect(results.map((p) => p.name)).toEqual(['a', 'b', 'c']);
    expect(spawned).toBe(1);
    await client.close();
  });

  it('stops when idle: no connection and nothing in flight', async () => {
    const path = socketPath();
    let stopped = '';
    await serve(path, 't', 300, (reason) => (stopped = reason));
    const client = new DaemonClient({ socketPath: path, token: 't', spawnDaemon: () => {} });
    await client.createProject({ name: 'idle' });
    await new Promise((r) => setTimeout(r, 1500)); // five idle timeouts
    expect(stopped).toBe(''); // an open connection keeps it alive
    await client.close();
    await until(() => stopped !== '', 'the idle stop', 30_000);
    expect(stopped).toBe('idle');
  });

  it('tells the caller when the daemon goes away during a call', async () => {
    const path = socketPath();
    const slowApi = { ...api, ready: () => new Promise<never>(() => {}) } as unknown as LoomApi;
    const server = await startDaemonServer({ socketPath: path, token: 't', api: Promise.resolve(slowApi), events: Promise.resolve(bus), info, idleTimeoutMs: 60_000, onStop: () => {}, log: () => {} });
    const serverSockets: Array<{ destroy(): void }> = [];
    server.server.on('connection', (s) => serverSockets.push(s));
    const client = new DaemonClient({ socketPath: path, token: 't', spawnDaemon: () => {} });
    await client.connect();
    const pending = client.ready({ project_id: 'p' });
    await until(() => server.stats().in_flight === 1, 'the call to reach the daemon', 30_000);
    serverSockets.forEach((s) => s.destroy()); // as a crashing daemon would
    await expect(pending).rejects.toMatchObject({ code: 'DAEMON_UNAVAILABLE', message: 'the Loom daemon went away during the call' });
    server.server.close();
    await client.close();
  });

  it('a stopping daemon holds its socket until released: clients wait, then go on with the next daemon, nothing applied twice', async () => {
    const path = socketPath();
    let answerReady!: () => void;
    const slowApi = Object.assign(Object.create(api) as LoomApi, {
      ready: (i: Parameters<LoomApi['ready']>[0]) => new Promise<void>((r) => (answerReady = r)).then(() => api.ready(i)),
    });
    const old = await startDaemonServer({ socketPath: path, token: 't', api: Promise.resolve(slowApi), events: Promise.resolve(bus), info, idleTimeoutMs: 60_000, onStop: () => {}, log: () => {} });
    const next = nextDaemon(path);
    const spawnDaemon = next.spawn;
    const early = new DaemonClient({ socketPath: path, token: 't', spawnDaemon });
    const project = await early.createProject({ name: 'handover' });
    const inFlight = early.ready({ project_id: project.id });
    await until(() => old.stats().in_flight === 1, 'the call in flight', 30_000);

    const draining = old.drain(); // as on `loom daemon stop`: the in-flight call finishes first
    // A new client, and a new call on the open connection, meet the stopping daemon.
    const late = new DaemonClient({ socketPath: path, token: 't', spawnDaemon });
    const lateCall = late.createTask({ project_id: project.id, title: 'made on the next daemon', origin: { kind: 'test', id: 'x' } });
    const retried = early.createTask({ project_id: project.id, title: 'refused, then made on the next daemon', origin: { kind: 'test', id: 'x' } });
    await new Promise((r) => setTimeout(r, 500)); // polls against the held socket
    expect(next.spawned).toBe(0); // the socket is still held: no second owner while the first has the data open
    expect(old.stats().requests).toBe(2); // createProject and ready: the later call was refused, not served

    answerReady();
    expect(await inFlight).toEqual([]);
    await draining;
    await old.release(); // its database is closed: the socket is free
    const [a, b] = await Promise.all([lateCall, retried]); // both waited, then went on with the next daemon
    expect(next.spawned).toBeGreaterThanOrEqual(1);
    const titles = (await late.ready({ project_id: project.id })).map((t) => t.title).sort();
    expect(titles).toEqual([a.title, b.title].sort()); // each made once
    await early.close();
    await late.close();
  });

  it('a daemon whose code changed on disk stops at the next hello, and that client goes on with a daemon of the new code', async () => {
    const path = socketPath();
    let codeChanged = false;
    const logged: string[] = [];
    const stops: string[] = [];
    let old!: DaemonServer;
    old = await startDaemonServer({
      socketPath: path, token: 't', api: Promise.resolve(api), events: Promise.resolve(bus), info, idleTimeoutMs: 60_000,
      // As the daemon does: stop (closing the database), then free the socket.
      onStop: (reason) => {
        stops.push(reason);
        void old.release();
      },
      log: (line) => logged.push(line),
      staleCode: () => (codeChanged ? "Loom's code on disk changed since this daemon started" : null),
    });
    const next = nextDaemon(path);
    const spawnDaemon = next.spawn;
    const before = new DaemonClient({ socketPath: path, token: 't', spawnDaemon });
    const project = await before.createProject({ name: 'upgrade' });
    expect(old.stats().requests).toBe(1);

    codeChanged = true; // an upgrade or a rebuild
    const after = new DaemonClient({ socketPath: path, token: 't', spawnDaemon });
    const made = await after.createTask({ project_id: project.id, title: 'made by the new daemon', origin: { kind: 'test', id: 'x' } });
    expect(stops).toEqual(['code changed']);
    expect(logged.join('\n')).toContain("code on disk changed since this daemon started: stopping, so the next client starts a daemon that runs it");
    expect(old.stats().requests).toBe(1); // the refused hello applied nothing
    expect(next.spawned).toBeGreaterThanOrEqual(1);
    // The client that connected before the change goes on with the new daemon too, nothing lost.
    expect((await before.ready({ project_id: project.id })).map((t) => t.id)).toEqual([made.id]);
    await before.close();
    await after.close();
  });

  it('pushes the committed events of a subscribed project, and only those', async () => {
    const path = socketPath();
    const server = await serve(path, 't');
    const writer = new DaemonClient({ socketPath: path, token: 't', spawnDaemon: () => {} });
    const listener = new DaemonClient({ socketPath: path, token: 't', spawnDaemon: () => {} });
    const mine = await writer.createProject({ name: 'mine' });
    const other = await writer.createProject({ name: 'other' });
    const seen: string[] = [];
    listener.subscribe(mine.id, (e) => seen.push(`${e.type} ${e.task_id}`));
    await listener.connect();
    // The subscription is registered once the daemon has answered it: two createProject calls, then it.
    await until(() => server.stats().requests === 3 && server.stats().in_flight === 0, 'the subscription', 30_000);
    const t = await writer.createTask({ project_id: mine.id, title: 'watched', origin: { kind: 'test', id: 'x' } });
    await writer.createTask({ project_id: other.id, title: 'elsewhere', origin: { kind: 'test', id: 'x' } });
    // Events are pushed in commit order: once a later event of mine is in, one of the other project would be too.
    const last = await writer.createTask({ project_id: mine.id, title: 'watched last', origin: { kind: 'test', id: 'x' } });
    await until(() => seen.length >= 2, 'the pushed events', 30_000);
    expect(seen).toEqual([`task.created ${t.id}`, `task.created ${last.id}`]);
    await writer.close();
    await listener.close();
  });
});
