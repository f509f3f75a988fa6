import { StdioServerTransport } from '#mcp-sdk';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { createLoomMcpServer } from '../../adapters/mcp/loom-mcp-server.js';
import type { EarlyStdio } from '../../adapters/mcp/early-stdio.js';
import { LoomError } from '../../domain/errors.js';
import type { LoomApi, SkillList } from '../../ports/loom-api.js';
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
    /** What the config says of the project, read without the store: lets the session answer at once. */
    peek?: ProjectContext | LoomError;
    /** Stdin as read since the process started (initialize answered already): the session reads on from it. */
    early?: EarlyStdio;
  },
): Promise<void> {
  const log = (line: string): void => void process.stderr.write(`[loom mcp] ${line}\n`);
  // The store opens in the background (in embedded mode that may start the daemon, seconds on a
  // cold machine): initialize, tools/list and prompts/list are answered from the config and the
  // skill files meanwhile, and only a call that needs the store waits for it.
  const opening = o.opening ?? connector.open(o.projectDir === undefined ? {} : { projectDir: o.projectDir });
  const ready: Promise<{ api: LoomApi; events: EventSource }> = opening.then(
    async ({ api, events, project }) => {
      // Crash recovery before any tool is served. In embedded mode, the expired leases: the rest of
      // the tick (stuck work, the epic and failure backstops, agents seen) is the daemon's, which runs
      // it a second after it starts and every few seconds after; cold, those statements cost the first
      // answer of the day ~0.1 s. In server mode no one else may be ticking: one whole tick.
      try {
        const tick = project.mode === 'embedded' ? await api.recoverLeases({ project_id: project.project_id }) : await api.reconcile({ project_id: project.project_id });
        const acted = Object.entries(tick).filter(([, ids]) => ids.length > 0);
        if (acted.length > 0) log(`start-up tick: ${acted.map(([k, ids]) => `${k} ${ids.length}`).join(', ')}`);
      } catch (e) {
        log(`start-up tick failed: ${LoomError.is(e) ? `${e.code}: ${e.message}` : String(e)}`);
      }
      return { api, events };
    },
    (e: unknown) => {
      // Serve anyway, so the model reads what is wrong and how to fix it on its first call.
      const error = LoomError.is(e) ? e : new LoomError('INTERNAL', `the project could not be opened: ${String((e as Error)?.message ?? e)}`, { hint: 'run `loom doctor` in the project directory; run with LOOM_DEBUG=1 for details and report it', cause: e });
      log(`${error.code}: ${error.message}`);
      return { api: failingApi(error), events: { subscribe: () => () => {} } };
    },
  );
  let project: ProjectContext;
  let toolGroups: string[] | undefined;
  let listSkills: (() => Promise<SkillList>) | undefined;
  const peek = o.peek;
  if (peek === undefined || LoomError.is(peek)) {
    // No peek (or the config could not be read): wait for the store as before.
    const opened = await opening.catch(() => null);
    project = opened?.project ?? { project_dir: o.projectDir ?? process.cwd(), project_id: '(none)', mode: 'embedded' };
  } else {
    project = peek;
  }
  try {
    const config = loadConfig(project.project_dir, o.env);
    toolGroups = config.mcp.tools;
    // Skills are files (builtin, plugins, user, project): listed here without waiting for the store.
    // Loaded on the first prompts/list (the template engine alone takes ~0.1 s), not before initialize.
    let registry: Promise<{ catalog: () => Promise<SkillList> }> | null = null;
    const dir = project.project_dir;
    listSkills = async () => {
      registry ??= (async () => {
        const [{ SkillRegistry }, { standardSkillSources }, { skillCatalog }] = await Promise.all([
          import('../skills/skill-registry.js'),
          import('../skills/skill-sources.js'),
          import('../use-cases/skills.js'),
        ]);
        const skills = new SkillRegistry(() => standardSkillSources({ projectDir: dir, env: o.env, plugins: config.plugins }));
        return { catalog: () => skillCatalog(skills) };
      })();
      return (await registry).catalog();
    };
  } catch {
    // A config that cannot be read: the first call says why (through the failing API).
  }
  const events = lazyEvents(ready);
  // A call is answered only once the session hears events: whatever its answer makes happen
  // next (another session's done, a workflow starting) reaches this client as a notification.
  const api = lazyApi(ready, () => events.settled());

  const mcp = createLoomMcpServer({
    api,
    events,
    project,
    version: o.version,
    log,
    ...(toolGroups === undefined ? {} : { toolGroups }),
    ...(o.agentId === undefined ? {} : { agentId: o.agentId }),
    ...(listSkills === undefined ? {} : { listSkills }),
  });
  const transport = o.early === undefined ? new StdioServerTransport() : await o.early.transport();
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
      o.early?.dispose();
      // A store still opening is not waited for past the grace period.
      await Promise.race([api.close().catch(() => undefined), new Promise((r) => setTimeout(r, SHUTDOWN_GRACE_MS).unref())]);
      resolve();
    };
    process.once('SIGTERM', () => void stop('SIGTERM'));
    process.once('SIGINT', () => void stop('SIGINT'));
    if (o.early !== undefined) o.early.whenStdinEnds(() => void stop('stdin closed'));
    else {
      process.stdin.once('end', () => void stop('stdin closed'));
      process.stdin.once('close', () => void stop('stdin closed'));
    }
    // A client gone without closing our stdin: the next write fails with EPIPE (unheard, a crash).
    for (const out of [process.stdout, process.stderr]) out.on('error', () => void stop('client closed its end of the pipe'));
    mcp.server.onclose = ((previous) => () => {
      previous?.();
      void stop('client closed');
    })(mcp.server.onclose);
  });
}

/** The API once the store is open: each call waits for it (the first ones of a session, at most), and for `before`. */
function lazyApi(ready: Promise<{ api: LoomApi }>, before: () => Promise<void>): LoomApi {
  return new Proxy({} as LoomApi, {
    // `then` stays undefined, so the proxy is not mistaken for a promise.
    get: (_t, prop) =>
      prop === 'then'
        ? undefined
        : async (...args: unknown[]) => {
            const { api } = await ready;
            await before();
            return (api[prop as keyof LoomApi] as (...a: unknown[]) => Promise<unknown>)(...args);
          },
  });
}

/** Subscriptions made before the store is open take effect when it is; settled() once the source hears them. */
function lazyEvents(ready: Promise<{ events: EventSource }>): EventSource & { settled(): Promise<void> } {
  const pending = new Set<Promise<void>>();
  return {
    subscribe(projectId, handler) {
      let stop: (() => void) | null = null;
      let cancelled = false;
      const subscribed = ready.then(async ({ events }) => {
        if (cancelled) return;
        stop = events.subscribe(projectId, handler);
        await events.settled?.();
      });
      pending.add(subscribed);
      void subscribed.finally(() => pending.delete(subscribed)).catch(() => undefined);
      return () => {
        cancelled = true;
        stop?.();
      };
    },
    async settled() {
      await Promise.all([...pending].map((p) => p.catch(() => undefined)));
    },
  };
}

/** Every call fails with the error that kept the project from opening. */
function failingApi(error: LoomError): LoomApi {
  return new Proxy({} as LoomApi, {
    // `then` stays undefined, so the proxy is not mistaken for a promise.
    get: (_t, prop) => (prop === 'then' ? undefined : prop === 'close' ? async () => {} : async () => Promise.reject(error)),
  });
}
