import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { createLoomMcpServer } from '../../adapters/mcp/loom-mcp-server.js';
import { LoomError } from '../../domain/errors.js';
import type { LoomApi } from '../../ports/loom-api.js';
import type { EventSource, LoomConnector, ProjectContext } from '../../ports/loom-connector.js';
import { loadConfig } from '../config.js';
import { projectSkillsDir, userSkillsDir } from '../skills/skill-sources.js';
import { watchSkillFolders } from '../skills/skill-watcher.js';

const SHUTDOWN_GRACE_MS = 4_000;

/**
 * `loom mcp`: one MCP session over stdio. In embedded mode the API is the
 * project's daemon (this process is a bridge to it); in server mode it runs
 * here against Postgres. Expired leases are recovered before any tool is
 * served. SIGTERM, SIGINT or stdin closing stop it: no new work is accepted,
 * calls in flight finish (up to 4 s), then connections close.
 */
export async function serveMcpStdio(
  connector: LoomConnector,
  o: {
    projectDir?: string;
    agentId?: string;
    version: string;
    env: NodeJS.ProcessEnv;
    /** The project already being opened by the caller, if it started early. */
    opening?: ReturnType<LoomConnector['open']>;
  },
): Promise<void> {
  const log = (line: string): void => void process.stderr.write(`[loom mcp] ${line}\n`);
  let api: LoomApi;
  let events: EventSource;
  let project: ProjectContext;
  let toolGroups: string[] | undefined;
  try {
    ({ api, events, project } = await (o.opening ?? connector.open(o.projectDir === undefined ? {} : { projectDir: o.projectDir })));
    toolGroups = loadConfig(project.project_dir, o.env).mcp.tools;
    // Crash recovery before any tool is served: one reconcile tick of the project.
    const tick = await api.reconcile({ project_id: project.project_id });
    const acted = Object.entries(tick).filter(([, ids]) => ids.length > 0);
    if (acted.length > 0) log(`start-up tick: ${acted.map(([k, ids]) => `${k} ${ids.length}`).join(', ')}`);
  } catch (e) {
    if (!LoomError.is(e)) throw e;
    // Serve anyway, so the model reads what is wrong and how to fix it on its first call.
    log(`${e.code}: ${e.message}`);
    api = failingApi(e);
    events = { subscribe: () => () => {} };
    project = { project_dir: o.projectDir ?? process.cwd(), project_id: '(none)', mode: 'embedded' };
  }

  const mcp = createLoomMcpServer({
    api,
    events,
    project,
    version: o.version,
    log,
    ...(toolGroups === undefined ? {} : { toolGroups }),
    ...(o.agentId === undefined ? {} : { agentId: o.agentId }),
  });
  const transport = new StdioServerTransport();
  await mcp.server.connect(transport);
  // An edited, added or removed skill file reaches the client as prompts/list_changed.
  const skillWatch = watchSkillFolders([projectSkillsDir(project.project_dir), userSkillsDir(o.env)], () => mcp.promptsChanged());

  // Calls in flight, by JSON-RPC id: shutdown waits for their answers.
  const inFlight = new Set<string | number>();
  const receive = transport.onmessage;
  transport.onmessage = (msg: JSONRPCMessage) => {
    if ('method' in msg && 'id' in msg) inFlight.add(msg.id);
    receive?.(msg);
  };
  const send = transport.send.bind(transport);
  transport.send = async (msg: JSONRPCMessage) => {
    await send(msg);
    if (!('method' in msg) && 'id' in msg && msg.id !== undefined) inFlight.delete(msg.id);
  };

  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = async (why: string): Promise<void> => {
      if (stopping) return;
      stopping = true;
      log(`stopping (${why})`);
      skillWatch.close();
      const deadline = Date.now() + SHUTDOWN_GRACE_MS;
      while (inFlight.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      await mcp.close().catch(() => undefined);
      await api.close().catch(() => undefined);
      resolve();
    };
    process.once('SIGTERM', () => void stop('SIGTERM'));
    process.once('SIGINT', () => void stop('SIGINT'));
    process.stdin.once('end', () => void stop('stdin closed'));
    process.stdin.once('close', () => void stop('stdin closed'));
    // A client gone without closing our stdin: the next write fails with EPIPE (unheard, a crash).
    for (const out of [process.stdout, process.stderr]) out.on('error', () => void stop('client closed its end of the pipe'));
    mcp.server.onclose = ((previous) => () => {
      previous?.();
      void stop('client closed');
    })(mcp.server.onclose);
  });
}

/** Every call fails with the error that kept the project from opening. */
function failingApi(error: LoomError): LoomApi {
  return new Proxy({} as LoomApi, {
    // `then` stays undefined, so the proxy is not mistaken for a promise.
    get: (_t, prop) => (prop === 'then' ? undefined : prop === 'close' ? async () => {} : async () => Promise.reject(error)),
  });
}
