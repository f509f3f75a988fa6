import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createDashboard, createDashboardServer, DASHBOARD_BASE } from '../../adapters/dashboard/dashboard-server.js';
import { VizGraphPictures } from '../../adapters/graphviz/viz-graph-pictures.js';
import { LoomError } from '../../domain/errors.js';
import type { LoomConnector, ServeDashboardOptions } from '../../ports/loom-connector.js';

const HOST = '127.0.0.1';

/**
 * LOOM_DASHBOARD_LAYERED_FROM=N: graphs of N nodes or more are laid out in
 * layers instead of by Graphviz (default 1,000; the browser test sets it low
 * to see the layered picture live).
 */
function layeredFrom(env: NodeJS.ProcessEnv): { layeredFrom?: number } {
  const n = Number(env.LOOM_DASHBOARD_LAYERED_FROM);
  return env.LOOM_DASHBOARD_LAYERED_FROM !== undefined && Number.isInteger(n) && n > 0 ? { layeredFrom: n } : {};
}

/**
 * `loom dashboard`: the project's live dashboard on 127.0.0.1 with a token
 * made for this run. The page's address carries it once; the page swaps it
 * for a cookie at once. A client of the store like any command (embedded:
 * of the daemon), and the graph is laid out here, never in the daemon.
 */
export async function serveDashboard(connector: LoomConnector, o: ServeDashboardOptions & { projectDir: string; env: NodeJS.ProcessEnv }): Promise<void> {
  const { api, events, project } = await connector.open({ projectDir: o.projectDir });
  try {
    const { name } = await api.getProject({ project_id: project.project_id });
    const token = randomBytes(32).toString('hex');
    const dashboard = createDashboard({ api, events, project, pictures: new VizGraphPictures(), secret: token, tokenInUrl: true, log: o.log, ...layeredFrom(o.env) });
    const server = createDashboardServer(dashboard);
    let bound: { host: string; port: number };
    try {
      bound = await server.listen(o.port ?? 0, HOST);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new LoomError('CONFIG_INVALID', `cannot listen on ${HOST}:${o.port}: ${code === 'EADDRINUSE' ? 'the port is in use' : (e as Error).message}`, {
        hint: 'pick another port with --port, or leave it out for a free one',
      });
    }
    const url = `http://${HOST}:${bound.port}${DASHBOARD_BASE}/?token=${token}`;
    o.onReady({ url, host: HOST, port: bound.port, project: { id: project.project_id, name }, mode: project.mode });
    if (o.open) openBrowser(url, o.env, o.log);
    const why = await new Promise<string>((resolve) => {
      const done = (signal: string): void => {
        process.off('SIGINT', onInt);
        process.off('SIGTERM', onTerm);
        resolve(signal);
      };
      const onInt = (): void => done('SIGINT');
      const onTerm = (): void => done('SIGTERM');
      process.on('SIGINT', onInt);
      process.on('SIGTERM', onTerm);
    });
    o.log(`stopping (${why})`);
    await server.close();
  } finally {
    await api.close().catch(() => undefined);
  }
}

/** Best effort, and only where a browser could show: a desktop session, or macOS and Windows. */
function openBrowser(url: string, env: NodeJS.ProcessEnv, log: (line: string) => void): void {
  const [cmd, args] =
    process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? ['cmd', ['/c', 'start', '""', url.replace(/&/g, '^&')]]
        : env.DISPLAY || env.WAYLAND_DISPLAY
          ? ['xdg-open', [url]]
          : [null, []];
  if (cmd === null) return log('no display found: open the address above in a browser');
  try {
    const child = spawn(cmd, args as string[], { stdio: 'ignore', detached: true });
    child.on('error', () => log(`could not start ${cmd}: open the address above in a browser`));
    child.unref();
  } catch {
    log(`could not start ${cmd}: open the address above in a browser`);
  }
}
