import { ErrorCode, ListToolsRequestSchema, McpError, Server, type CallToolResult, type ListToolsResult } from '#mcp-sdk';
import { LoomError } from '../../domain/errors.js';
import type { LoomApi, SkillList } from '../../ports/loom-api.js';
import type { EventSource, ProjectContext } from '../../ports/loom-connector.js';
import type { ToolLatency } from '../../ports/tool-latency.js';
import { EventForwarder } from './notifications.js';
import { errorResult, hideForeignLeases, okResult, toToolError } from './present.js';
import { onRawRequest } from './raw-request.js';
import { registerResources, ResourceSubscriptions } from './resources.js';
import { INSTRUCTIONS, SERVER_CAPABILITIES, SERVER_NAME } from './server-info.js';
import { SAMPLING_TIMEOUT_MS, type Sampler } from './sampling.js';
import { McpSession } from './session.js';
import { DEFAULT_TOOL_GROUPS, toolsOf } from './tools/index.js';
import { notifyPromptsChanged, registerPrompts } from './prompts.js';
import type { ToolContext } from './tools/tool.js';
import { validateArgs } from './validation.js';

export interface LoomMcpServerOptions {
  api: LoomApi;
  /** Live events of the project, forwarded to the client as notifications/loom/task_event. */
  events: EventSource;
  project: ProjectContext;
  /** Loom's version, reported as the server version. */
  version: string;
  /** Tool groups to offer (config `mcp.tools`); default ['core', 'planning']. */
  toolGroups?: string[];
  /** A fixed agent id for this session; default `<client name>-<6 hex>`. */
  agentId?: string;
  /** Where internal errors and dropped events are reported (stderr in `loom mcp`); never stdout. */
  log?: (line: string) => void;
  /** Lists the skills for prompts/list without the store (they are files); default: the API's skills. */
  listSkills?: () => Promise<SkillList>;
  /** Told how long each tool call took, by tool and outcome (`loom serve` exposes it at /metrics). */
  toolLatency?: ToolLatency;
}

export interface LoomMcpServer {
  server: Server;
  session: McpSession;
  /** This session's resource subscriptions (dropped when the session closes). */
  resources: ResourceSubscriptions;
  /** Sends notifications/prompts/list_changed (a skill file changed); ignored before the client is initialized. */
  promptsChanged(): void;
  /** Stops the notifications and closes the server (and its transport). */
  close(): Promise<void>;
}

/**
 * The Loom MCP server for one client session, on the SDK's low-level Server
 * so tools publish plain JSON Schema checked with ajv. The caller connects a
 * transport. The factory owns `server.oninitialized` and `server.onclose`.
 */
export function createLoomMcpServer(o: LoomMcpServerOptions): LoomMcpServer {
  const log = o.log ?? (() => {});
  const tools = toolsOf(o.toolGroups ?? DEFAULT_TOOL_GROUPS);
  const byName = new Map(tools.map((t) => [t.name, t]));
  const listed: ListToolsResult = {
    tools: tools.map((t) => ({ name: t.name, description: t.description, inputSchema: t.inputSchema, annotations: t.annotations })),
  };
  const session = new McpSession(o.agentId);
  const ctx: Omit<ToolContext, 'sampling'> = { api: o.api, project_id: o.project.project_id, session, log };

  // The same answer to initialize as the early stdio reader's (server-info.ts).
  const server = new Server({ name: SERVER_NAME, version: o.version }, { capabilities: structuredClone(SERVER_CAPABILITIES), instructions: INSTRUCTIONS });

  server.setRequestHandler(ListToolsRequestSchema, () => listed);
  const resources = new ResourceSubscriptions({ send: (uri) => server.sendResourceUpdated({ uri }), log });
  registerResources(server, { api: o.api, project_id: o.project.project_id, log, ownToken: (id) => session.tokenFor(id) }, resources);
  registerPrompts(server, { api: o.api, project_id: o.project.project_id, agentId: () => session.agentId, log, ...(o.listSkills === undefined ? {} : { listSkills: o.listSkills }) });
  // The SDK's own check of tools/call answers a malformed call with a dump of schema errors;
  // Loom checks the call itself and answers in words a model can act on.
  onRawRequest(server, 'tools/call', async (request, extra): Promise<CallToolResult> => {
    const params = (request.params ?? {}) as { name?: unknown; arguments?: unknown };
    const name = params.name;
    if (typeof name !== 'string') {
      throw new McpError(ErrorCode.InvalidParams, `tools/call needs params.name, the tool to call: one of ${[...byName.keys()].join(', ')}`);
    }
    const tool = byName.get(name);
    const started = performance.now();
    const timed = (result: CallToolResult, code: string): CallToolResult => {
      if (o.toolLatency !== undefined && tool !== undefined) {
        o.toolLatency.observe({ project_id: o.project.project_id, tool: name, code, seconds: (performance.now() - started) / 1000 });
      }
      return result;
    };
    try {
      if (tool === undefined) {
        throw new LoomError('VALIDATION_FAILED', `unknown tool ${name.slice(0, 100)}; available: ${[...byName.keys()].join(', ')}`, {
          hint: 'call one of the tools listed above',
        });
      }
      const args = params.arguments ?? {};
      if (typeof args !== 'object' || args === null || Array.isArray(args)) {
        throw new LoomError('VALIDATION_FAILED', `${name} arguments must be a JSON object of named arguments, got ${Array.isArray(args) ? 'an array' : args === null ? 'null' : `a ${typeof args}`}`, {
          hint: `call ${name} with an object, e.g. {} or {"task_id": "loom-1a2b3c4d"}; its input schema is in tools/list`,
          details: { tool: name },
        });
      }
      validateArgs(tool, args);
      // Sent as part of this call (the HTTP transport answers on the call's stream) and cancelled with it.
      const sampling: Sampler = {
        available: server.getClientCapabilities()?.sampling !== undefined,
        createMessage: (p) =>
          server.createMessage(p, { relatedRequestId: extra.requestId, signal: extra.signal, timeout: SAMPLING_TIMEOUT_MS, resetTimeoutOnProgress: true }),
      };
      const result = await tool.run(args as Record<string, unknown>, { ...ctx, sampling });
      return timed(okResult(hideForeignLeases(result, (id) => session.tokenFor(id)) as Record<string, unknown>), 'ok');
    } catch (error) {
      const toolError = toToolError(error, log, name);
      return timed(errorResult(toolError), toolError.code);
    }
  });

  const forwarder = new EventForwarder({
    send: (n) => server.notification(n),
    log,
    onDropped: (count) => {
      server
        .sendLoggingMessage({ level: 'warning', logger: 'loom', data: `${count} task events were dropped because this client fell behind; loom_status shows the current state` })
        .catch(() => undefined);
    },
  });
  let unsubscribe: (() => void) | undefined;
  let closed = false;
  const stop = (): void => {
    closed = true;
    unsubscribe?.();
    unsubscribe = undefined;
    forwarder.close();
    resources.close();
  };

  server.oninitialized = () => {
    session.identify(server.getClientVersion()?.name);
    if (closed || unsubscribe !== undefined) return;
    try {
      unsubscribe = o.events.subscribe(o.project.project_id, (event) => {
        forwarder.push(event);
        resources.onEvent(event);
      });
    } catch (error) {
      log(`loom mcp: could not subscribe to project events: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  server.onclose = stop;

  let initialized = false;
  server.oninitialized = ((own) => () => {
    initialized = true;
    own?.();
  })(server.oninitialized);

  return {
    server,
    session,
    resources,
    promptsChanged() {
      if (!initialized || closed) return;
      notifyPromptsChanged(server).catch((e: unknown) => log(`loom mcp: could not send prompts/list_changed: ${e instanceof Error ? e.message : String(e)}`));
    },
    async close() {
      stop();
      await server.close();
    },
  };
}
