import { createHash } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createDashboard } from '../../adapters/dashboard/dashboard-server.js';
import { VizGraphPictures } from '../../adapters/graphviz/viz-graph-pictures.js';
import { createLoomHttpServer } from '../../adapters/mcp/http-server.js';
import { PrometheusMetrics } from '../../adapters/prometheus/prometheus-metrics.js';
import { LoomError } from '../../domain/errors.js';
import type { LoomApi } from '../../ports/loom-api.js';
import type { LoomConnector, ServeHttpOptions } from '../../ports/loom-connector.js';
import { loadConfig, PROJECT_CONFIG } from '../config.js';
import { stopOnUpgrade } from '../schema-guard.js';
import { loomHome, projectSkillsDir, userSkillsDir } from '../skills/skill-sources.js';
import { watchSkillFolders } from '../skills/skill-watcher.js';

export const tokenRequired = (): LoomError =>
  new LoomError('TOKEN_REQUIRED', 'loom serve needs a bearer token, and none is set (LOOM_TOKEN, serve.token or serve.tokens in a config file)', {
    hint:
      '`loom serve --new-token` prints a fresh one; then `export LOOM_TOKEN=<token>` in the shell that runs loom serve, ' +
      'or put it under `serve: {token: <token>}` in ~/.loom/config.yaml; `loom serve --new-token --name NAME` makes one per person (serve.tokens)',
  });

/**
 * `loom serve`: the Loom MCP tools over Streamable HTTP for a team sharing
 * one server. Without a token nothing is opened. The project of `projectDir`
 * is served at /mcp, any other project of the same database at
 * /projects/<id>/mcp; each project gets its start-up tick (lease recovery)
 * before its first tool call. Stops on SIGINT or SIGTERM: calls in flight
 * finish (up to 4 s), sessions close, then the API.
 */
export async function serveMcpHttp(
  connector: LoomConnector,
  o: ServeHttpOptions & { projectDir: string; version: string; env: NodeJS.ProcessEnv },
): Promise<{ sessions: number }> {
  const config = loadConfig(o.projectDir, o.env);
  const token = config.serve.token;
  const named = config.serve.tokens;
  if (token === null && named.length === 0) throw tokenRequired();
  if (config.serve.token_source === join(o.projectDir, PROJECT_CONFIG)) {
    o.log(`warning: the token is in ${config.serve.token_source}, a file that is usually committed; prefer LOOM_TOKEN or ~/.loom/config.yaml`);
  }
  const port = o.port ?? config.serve.port;
  const host = o.host ?? config.serve.host;

  const opened = await connector.open({ projectDir: o.projectDir });
  const { events, project } = opened;
  // A newer Loom migrated the database under this server: stop as on SIGTERM (calls in flight finish, clients
  // reconnect to the restarted one), then fail with MIGRATION_AHEAD.
  let stopForUpgrade: (() => void) | null = null;
  const { api, ahead } = stopOnUpgrade(opened.api, { log: o.log, stop: () => stopForUpgrade?.() });
  try {
    const { name } = await api.getProject({ project_id: project.project_id });
    await tick(api, project.project_id, o.log);
    const prometheus = new PrometheusMetrics();
    // The dashboard at /dashboard: a login form takes the same token once and gives a cookie.
    const dashboard = createDashboard({ api, events, project, pictures: new VizGraphPictures(), secret: token, secretHashes: named.map((t) => t.sha256), tokenInUrl: false, log: o.log });
    const http = createLoomHttpServer({
      api,
      events,
      project,
      token,
      tokens: named,
      version: o.version,
      log: o.log,
      prepareProject: (id) => tick(api, id, o.log),
      // Same bearer token as /mcp: a scraper holds it like any client (README, "Metrics").
      toolLatency: prometheus,
      metrics: async (projectId) => ({ contentType: prometheus.contentType, body: await prometheus.render([await api.metrics({ project_id: projectId })]) }),
      ...(config.mcp.tools === undefined ? {} : { toolGroups: config.mcp.tools }),
      pages: dashboard,
    });
    let bound: { host: string; port: number };
    try {
      bound = await http.listen(port, host);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new LoomError('CONFIG_INVALID', `cannot listen on ${host}:${port}: ${code === 'EADDRINUSE' ? 'the port is in use' : (e as Error).message}`, {
        hint: 'pick another port with --port (or serve.port in the config), or another address with --host',
        details: { host, port },
      });
    }
    // Skills are this process's (builtin, ~/.loom/skills, the project's .loom/skills): an edit reaches every session.
    const skillWatch = watchSkillFolders([projectSkillsDir(o.projectDir), userSkillsDir(o.env)], () => http.promptsChanged());
    const wildcard = host === '0.0.0.0' || host === '::';
    const urlHost = wildcard ? hostname() : host.includes(':') ? `[${host}]` : host;
    o.onReady({
      url: `http://${urlHost}:${bound.port}/mcp`,
      host,
      port: bound.port,
      project: { id: project.project_id, name },
      mode: project.mode,
      token_source: config.serve.token_source,
      token_names: named.map((t) => t.name),
    });
    // The tokens are read again when a config file changes (a named token added or revoked), without a restart.
    let current = tokenKey(token, named);
    const reload = (): void => {
      let next: ReturnType<typeof loadConfig>['serve'];
      try {
        next = loadConfig(o.projectDir, o.env).serve;
      } catch (e) {
        o.log(`config changed but cannot be read; the tokens are unchanged: ${(e as Error).message}`);
        return;
      }
      const key = tokenKey(next.token, next.tokens);
      if (key === current) return; // another setting changed: those need a restart
      if (next.token === null && next.tokens.length === 0) {
        o.log('config changed and now names no token; the tokens are unchanged (stop the server to stop serving)');
        return;
      }
      current = key;
      const closed = http.setTokens(next.token, next.tokens);
      dashboard.setSecrets(next.token, next.tokens.map((t) => t.sha256));
      const names = [...(next.token === null ? [] : ['the token']), ...next.tokens.map((t) => t.name)];
      o.log(`tokens reloaded from the config: ${names.join(', ')}; ${closed} session(s) of tokens no longer accepted closed; dashboard sign-ins ended`);
    };
    const configWatch = watchSkillFolders([join(o.projectDir, '.loom'), loomHome(o.env)], reload, (f) => f === 'config.yaml');
    const why = await new Promise<string>((resolve) => {
      const onInt = (): void => done('SIGINT');
      const onTerm = (): void => done('SIGTERM');
      const done = (signal: string): void => {
        process.off('SIGINT', onInt);
        process.off('SIGTERM', onTerm);
        resolve(signal);
      };
      process.on('SIGINT', onInt);
      process.on('SIGTERM', onTerm);
      stopForUpgrade = () => done('MIGRATION_AHEAD');
      if (ahead() !== null) done('MIGRATION_AHEAD'); // met before the server was up
    });
    configWatch.close();
    o.log(`stopping (${why}): ${http.sessions().length} session(s) open`);
    skillWatch.close();
    await http.close();
    const upgraded = ahead();
    if (upgraded !== null) throw upgraded;
    return { sessions: http.opened };
  } finally {
    await api.close().catch(() => undefined);
  }
}

/** What identifies a set of accepted tokens (the unnamed one by its hash: no token text is kept). */
function tokenKey(token: string | null, tokens: ReadonlyArray<{ name: string; sha256: string }>): string {
  return JSON.stringify([token === null ? null : createHash('sha256').update(token, 'utf8').digest('hex'), tokens.map((t) => [t.name, t.sha256])]);
}

/** One reconcile tick of a project: crash recovery before its tools are served. */
async function tick(api: LoomApi, projectId: string, log: (line: string) => void): Promise<void> {
  const report = await api.reconcile({ project_id: projectId });
  const acted = Object.entries(report).filter(([, ids]) => Array.isArray(ids) && ids.length > 0);
  if (acted.length > 0) log(`start-up tick of ${projectId}: ${acted.map(([k, ids]) => `${k} ${(ids as unknown[]).length}`).join(', ')}`);
}
