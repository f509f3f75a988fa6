/**
 * `loom mcp` answers before its store is open: a client (Claude Code shows
 * the server as "connecting" until then) gets initialize, tools/list and
 * prompts/list from the config and the skill files, even when the database
 * never answers; only calls that need the store wait for it.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
