/**
 * `loom mcp` answers before its store is open: a client (Claude Code shows
 * the server as "connecting" until then) gets initialize, tools/list and
 * prompts/list from the config and the skill files, even when the database
 * never answers; only calls that need the store wait for it.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { daemonNodeFlags } from '../../src/app/daemon-launch.js';
import { loom, loomJson } from '../support/loom-cli.js';
import { McpProcess } from '../support/mcp-process.js';
import { until } from '../support/until.js';

describe('loom mcp before the store is open', () => {
  let blackhole: Server;
  const sockets: Socket[] = [];
  let dir: string;
  beforeAll(async () => {
    // A "database" that accepts connections and never says a word: opening the store hangs.
    blackhole = createServer((s) => sockets.push(s));
    await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
    const port = (blackhole.address() as { port: number }).port;
    dir = mkdtempSync(join(tmpdir(), 'loom-mcp-fast-'));
    mkdirSync(join(dir, '.loom'));
    writeFileSync(join(dir, '.loom', 'config.yaml'), `project:\n  id: prj-0123456789ab\n  name: fast\n  store: server\ndatabase_url: postgres://loom@127.0.0.1:${port}/loom\n`);
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => blackhole?.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers initialize, tools/list and prompts/list while the database hangs', async () => {
    const mcp = await McpProcess.start(dir, [], { LOOM_HOME: join(dir, 'home') }); // resolves once initialize is answered
    try {
      expect(mcp.client.getServerVersion()?.name).toBe('loom');
      const tools = await mcp.client.listTools();
      expect(tools.tools.map((t) => t.name)).toContain('loom_ready');
      const prompts = await mcp.client.listPrompts();
      expect(prompts.prompts.map((p) => p.name)).toContain('write_spec');
      // The store really is being opened meanwhile: the connection reaches the "database" and waits there.
      await until(() => sockets.length > 0, 'loom mcp to connect to the database', 60_000);
    } finally {
      await mcp.close();
    }
  }, 120_000);
});

describe('loom mcp with the daemon stopped (the first session of the day)', () => {
  const env = { LOOM_DAEMON_IDLE_SECONDS: '60' };
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'loom-mcp-fast-embedded-'));
    await loomJson(dir, ['init', '--name', 'fast-embedded'], env);
    await loom(dir, ['daemon', 'stop'], env);
  }, 120_000);
  afterAll(async () => {
    await loom(dir, ['daemon', 'stop'], env);
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers initialize and tools/list, then serves tool calls once the daemon it started is up', async () => {
    const mcp = await McpProcess.start(dir, [], env);
    try {
      const server = mcp.client.getServerVersion();
      expect(server?.name).toBe('loom');
      expect(server?.version).toMatch(/^\d+\.\d+\.\d+/);
      expect(mcp.client.getInstructions()).toContain('loom_ready');
      expect(mcp.client.getServerCapabilities()?.tools).toBeDefined();
      const tools = await mcp.client.listTools();
      expect(tools.tools.map((t) => t.name)).toContain('loom_create');
      const created = await mcp.ok('loom_create', { title: 'first of the day' });
      const ready = await mcp.ok('loom_ready');
      expect(ready.tasks.map((t: { id: string }) => t.id)).toContain(created.task.id);
      // The session knows its client from the initialize it answered early: its agent id says so.
      const claimed = await mcp.ok('loom_claim');
      expect(claimed.task.assignee).toMatch(/^e2e-client-/);
      // The CLI sees the same store: the daemon this session started.
      const status = await loomJson(dir, ['daemon', 'status'], env);
      expect(status.running).toBe(true);
      // Started with V8's background pool sized to the machine (daemon-launch.ts), as its command line shows.
      if (process.platform === 'linux') {
        const argv = readFileSync(`/proc/${status.pid}/cmdline`, 'utf8').split('\0');
        const flag = daemonNodeFlags().join(' ');
        expect(argv).toContain(flag);
        expect(argv.indexOf(flag)).toBeLessThan(argv.indexOf('daemon'));
      }
    } finally {
      await mcp.close();
    }
  }, 120_000);

  it('answers a call with the coded error when the store cannot be opened, and keeps running', async () => {
    // A server-mode project whose database is not there (nothing listens on the port): the store
    // fails to open in the background; initialize and tools/list are answered all the same.
    const broken = mkdtempSync(join(tmpdir(), 'loom-mcp-fast-broken-'));
    const refused = createServer();
    await new Promise<void>((resolve) => refused.listen(0, '127.0.0.1', resolve));
    const port = (refused.address() as { port: number }).port;
    await new Promise((resolve) => refused.close(resolve)); // the port is free again: connections are refused
    mkdirSync(join(broken, '.loom'));
    writeFileSync(join(broken, '.loom', 'config.yaml'), 'project:\n  id: prj-0123456789ab\n  name: broken\n  store: server\n');
    const mcp = await McpProcess.start(broken, [], { LOOM_HOME: join(broken, 'home'), LOOM_DATABASE_URL: `postgres://loom@127.0.0.1:${port}/loom` });
    try {
      expect((await mcp.client.listTools()).tools.map((t) => t.name)).toContain('loom_ready');
      for (let i = 0; i < 2; i++) {
        const r = await mcp.call('loom_ready');
        expect(r.isError).toBe(true);
        expect(r.json.code).toBe('DATABASE_UNAVAILABLE');
        expect(r.json.hint).toContain('LOOM_DATABASE_URL');
      }
      // No crash on the failed start (an unhandled rejection would have ended the process).
      expect(mcp.child.exitCode).toBeNull();
      expect(mcp.stderr).not.toMatch(/unhandled|INTERNAL/i);
      expect(await mcp.client.ping()).toEqual({});
    } finally {
      await mcp.close();
      rmSync(broken, { recursive: true, force: true });
    }
  }, 120_000);

  it('with an embedded config that fails its checks: the call says CONFIG_INVALID, and the session ends when stdin closes', async () => {
    // The daemon is started before the config is checked (the config records the embedded store);
    // the check then fails, and the early connection must not keep the process alive.
    const bad = mkdtempSync(join(tmpdir(), 'loom-mcp-fast-badconfig-'));
    mkdirSync(join(bad, '.loom'));
    writeFileSync(join(bad, '.loom', 'config.yaml'), 'project:\n  id: prj-0123456789ab\n  name: bad\n  store: embedded\ntasks:\n  bogus_key: 3\n');
    const mcp = await McpProcess.start(bad, [], { LOOM_HOME: join(bad, 'home') });
    try {
      const r = await mcp.call('loom_ready');
      expect(r.isError).toBe(true);
      expect(r.json.code).toBe('CONFIG_INVALID');
      const exited = new Promise((resolve) => mcp.child.once('exit', resolve));
      mcp.child.stdin?.end();
      await exited; // the test's own timeout fails it if an early daemon connection holds the process
    } finally {
      await mcp.close();
      await loom(bad, ['daemon', 'stop'], {}).catch(() => undefined);
      rmSync(bad, { recursive: true, force: true });
    }
  }, 45_000);
});
