/** A real SDK Client wired to a Loom MCP server over InMemoryTransport, on the real LoomService over in-memory PGlite. */
import { openTestPglite } from '../support/pglite.js';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import type { ClientCapabilities, Notification } from '@modelcontextprotocol/sdk/types.js';
import type { PglitePool } from '../../src/adapters/embedded/pglite-pool.js';
import { createLoomMcpServer, type LoomMcpServer, type LoomMcpServerOptions } from '../../src/adapters/mcp/loom-mcp-server.js';
import { migrate } from '../../src/adapters/postgres/migrator.js';
import { serviceForPool } from '../../src/app/service-factory.js';
import type { LoomEvent } from '../../src/domain/events.js';
import type { EventBus } from '../../src/ports/event-bus.js';
import type { LoomApi } from '../../src/ports/loom-api.js';
import type { ProjectContext } from '../../src/ports/loom-connector.js';

export interface Backend {
  api: LoomApi;
  bus: EventBus;
  pglite: PglitePool;
  close(): Promise<void>;
}

/** One PGlite per test file. */
export async function openBackend(): Promise<Backend> {
  const pglite = await openTestPglite();
  await migrate(pglite.pool);
  const { service, bus } = serviceForPool(pglite.pool, { ownsPool: false });
  return {
    api: service,
    bus,
    pglite,
    async close() {
      await service.close();
      await pglite.close();
    },
  };
}

/** A new project per test. */
export async function newProject(api: LoomApi, name = 'mcp'): Promise<ProjectContext> {
  const project = await api.createProject({ name });
  // The bus delivers on a later tick: let project.created pass before any session subscribes.
  await new Promise((r) => setImmediate(r));
  return { project_dir: '/nonexistent', project_id: project.id, mode: 'embedded' };
}

export interface ToolCall {
  isError: boolean;
  /** structuredContent: the result, or {error} on failure. */
  data: Record<string, any>;
  text: string;
}

export interface Session {
  client: Client;
  mcp: LoomMcpServer;
  notifications: Notification[];
  call(name: string, args?: Record<string, unknown>): Promise<ToolCall>;
  /** The call's result; fails the test with the tool's error when it is one. */
  ok(name: string, args?: Record<string, unknown>): Promise<Record<string, any>>;
  close(): Promise<void>;
}

export async function connect(
  b: { api: LoomApi; bus: EventBus },
  project: ProjectContext,
  opts: Partial<LoomMcpServerOptions> & {
    clientName?: string;
    /** What the client advertises (say `{ sampling: {} }`); its handlers go in `setupClient`. */
    clientCapabilities?: ClientCapabilities;
    setupClient?: (client: Client) => void;
  } = {},
): Promise<Session> {
  const { clientName = 'test-client', clientCapabilities, setupClient, ...serverOpts } = opts;
  const mcp = createLoomMcpServer({ api: b.api, events: { subscribe: (p, h) => b.bus.subscribe(p, h) }, project, version: '0.0.0-test', ...serverOpts });
  // Resolves once the server has subscribed to the project's events.
  const initialized = new Promise<void>((resolve) => {
    const own = mcp.server.oninitialized;
    mcp.server.oninitialized = () => {
      own?.();
      resolve();
    };
  });
  const client = new Client({ name: clientName, version: '1.0.0' }, clientCapabilities === undefined ? undefined : { capabilities: clientCapabilities });
  setupClient?.(client);
  const notifications: Notification[] = [];
  client.fallbackNotificationHandler = async (n) => {
    notifications.push(n);
  };
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await mcp.server.connect(serverSide);
  await client.connect(clientSide);
  await initialized;
  const call = async (name: string, args: Record<string, unknown> = {}): Promise<ToolCall> => {
    const r = await client.callTool({ name, arguments: args });
    const content = r.content as Array<{ type: string; text: string }>;
    return { isError: r.isError === true, data: r.structuredContent as Record<string, any>, text: content[0]!.text };
  };
  return {
    client,
    mcp,
    notifications,
    call,
    async ok(name, args) {
      const r = await call(name, args);
      if (r.isError) throw new Error(`${name} failed: ${r.text}`);
      return r.data;
    },
    async close() {
      await client.close();
      await mcp.close();
    },
  };
}

export async function allEvents(api: LoomApi, project_id: string): Promise<LoomEvent[]> {
  return api.events({ project_id, limit: 10_000 });
}

/** Polls `probe` until it gives a value; the bound is generous, for a loaded machine. */
export async function waitFor<T>(probe: () => T | undefined | false, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
