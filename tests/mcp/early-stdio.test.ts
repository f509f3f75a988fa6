/**
 * `loom mcp` answers initialize before the SDK loads (early-stdio.ts, from
 * server-info.ts): that answer must be the one the SDK server would give, and
 * the server connected later must read every line, initialize included, once.
 */
import { PassThrough } from 'node:stream';
import { LATEST_PROTOCOL_VERSION as SDK_LATEST, SUPPORTED_PROTOCOL_VERSIONS as SDK_SUPPORTED } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EarlyStdio } from '../../src/adapters/mcp/early-stdio.js';
import { createLoomMcpServer } from '../../src/adapters/mcp/loom-mcp-server.js';
import { initializeResult, LATEST_PROTOCOL_VERSION, SUPPORTED_PROTOCOL_VERSIONS } from '../../src/adapters/mcp/server-info.js';
import { newProject, openBackend, waitFor, type Backend } from './harness.js';

let b: Backend;
beforeAll(async () => {
  b = await openBackend();
});
afterAll(async () => {
  await b.close();
});

const initialize = (id: number | string, protocolVersion: string) => ({
  jsonrpc: '2.0',
  id,
  method: 'initialize',
  params: { protocolVersion, capabilities: { sampling: {} }, clientInfo: { name: 'early-client', version: '1.0' } },
});

/** stdin and stdout as streams, the lines written to stdout parsed. */
function pipes() {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const out: Record<string, any>[] = [];
  let buffer = '';
  stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    let i: number;
    while ((i = buffer.indexOf('\n')) >= 0) {
      out.push(JSON.parse(buffer.slice(0, i)) as Record<string, any>);
      buffer = buffer.slice(i + 1);
    }
  });
  const send = (msg: unknown, raw = `${JSON.stringify(msg)}\n`) => stdin.write(raw);
  return { stdin, stdout, out, send };
}

describe('the early answer to initialize', () => {
  it('uses the SDK protocol versions', () => {
    expect(LATEST_PROTOCOL_VERSION).toBe(SDK_LATEST);
    expect([...SUPPORTED_PROTOCOL_VERSIONS]).toEqual([...SDK_SUPPORTED]);
  });

  it('is the SDK server answer, for every protocol version (and an unknown one)', async () => {
    const project = await newProject(b.api);
    for (const version of [...SDK_SUPPORTED, '1999-01-01']) {
      const { stdin, stdout, out, send } = pipes();
      const mcp = createLoomMcpServer({ api: b.api, events: { subscribe: () => () => {} }, project, version: '9.9.9' });
      const { StdioServerTransport } = await import('@modelcontextprotocol/sdk/server/stdio.js');
      await mcp.server.connect(new StdioServerTransport(stdin, stdout));
      send(initialize(1, version));
      await waitFor(() => out.length === 1, 'out.length === 1');
      expect(out[0]).toEqual({ jsonrpc: '2.0', id: 1, result: initializeResult(version, '9.9.9') });
      await mcp.close();
    }
  });
});

describe('EarlyStdio', () => {
  it('answers initialize before any server is connected, then hands every line to it, initialize once', async () => {
    const project = await newProject(b.api);
    const { stdin, stdout, out, send } = pipes();
    const early = new EarlyStdio('1.2.3', stdin, stdout);
    // Two messages in one chunk, the second split across chunks: lines are lines whatever the chunks.
    const tail = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
    send(null, `${JSON.stringify(initialize(1, '2025-06-18'))}\n${JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' })}\n${tail.slice(0, 10)}`);
    await waitFor(() => out.length === 1, 'out.length === 1');
    expect(out[0]).toEqual({ jsonrpc: '2.0', id: 1, result: initializeResult('2025-06-18', '1.2.3') });
    send(null, `${tail.slice(10)}\n`);

    // The server comes later (the SDK and the tools loaded): it knows the client, and answers the rest.
    const mcp = createLoomMcpServer({ api: b.api, events: { subscribe: () => () => {} }, project, version: '1.2.3' });
    let initialized = false;
    mcp.server.oninitialized = ((own) => () => {
      initialized = true;
      own?.();
    })(mcp.server.oninitialized);
    await mcp.server.connect(await early.transport());
    await waitFor(() => out.length === 2, 'out.length === 2');
    expect(out[1]!.id).toBe(2);
    expect(out[1]!.result.tools.map((t: { name: string }) => t.name)).toContain('loom_ready');
    expect(initialized).toBe(true);
    expect(mcp.server.getClientVersion()?.name).toBe('early-client');
    expect(mcp.server.getClientCapabilities()?.sampling).toEqual({});
    expect(mcp.session.agentId).toMatch(/^early-client-/);

    send({ jsonrpc: '2.0', id: 3, method: 'ping' });
    await waitFor(() => out.length === 3, 'out.length === 3');
    expect(out[2]).toEqual({ jsonrpc: '2.0', id: 3, result: {} });
    expect(out.filter((m) => m.id === 1)).toHaveLength(1); // the server's own answer to initialize is not sent

    let ended = false;
    early.whenStdinEnds(() => (ended = true));
    stdin.end();
    await waitFor(() => ended, 'ended');
    await mcp.close();
    early.dispose();
  });

  it('leaves a malformed initialize to the SDK server, which says what is wrong', async () => {
    const project = await newProject(b.api);
    const { stdin, stdout, out, send } = pipes();
    const early = new EarlyStdio('1.2.3', stdin, stdout);
    send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: 7 } });
    const mcp = createLoomMcpServer({ api: b.api, events: { subscribe: () => () => {} }, project, version: '1.2.3' });
    await mcp.server.connect(await early.transport());
    await waitFor(() => out.length === 1, 'out.length === 1');
    expect(out[0]!.id).toBe(1);
    expect(out[0]!.error).toBeDefined();
    await mcp.close();
    early.dispose();
  });
});
