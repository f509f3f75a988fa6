import { notifierSetupFromConfig } from '../adapters/notifiers/config-schema.js';
import { createNotifiers } from '../adapters/notifiers/module.js';
import { NotifierRouter } from '../adapters/notifiers/notifier-router.js';
import type { LoomEvent } from '../domain/events.js';
import type { EventSource } from '../ports/loom-connector.js';
import type { Notifier } from '../ports/notifier.js';
import { discoverPlugins } from '../plugins/host/discovery.js';
import { startPluginNotifiers, type PluginNotifierStatus } from '../plugins/host/notifiers.js';
import type { LoomConfig } from './config.js';
import { writePluginStatus } from './plugin-status.js';

/**
 * Starts the project's notifiers (config `notifications`) on the process
 * that owns its events: the daemon in embedded mode, `loom orchestrate` in
 * server mode. One owner per project, so nothing is sent twice. Builtin
 * notifiers are built here; a plugin's (`type: <id>/<type>`) by the plugin
 * host, only for trusted plugins, each isolated: one that cannot start is
 * logged and skipped, and how each is doing is written to
 * `.loom/daemon.plugins.json` for `loom plugins list` and `loom doctor`.
 */
export function startNotifiers(config: LoomConfig, events: EventSource, log: (line: string) => void): NotifierRouter | undefined {
  if (config.project === null || (config.notifications.notifiers ?? []).length === 0) return undefined;
  const { notifiers, plugin, routes } = notifierSetupFromConfig(config.notifications, config.sources.join(', '));
  const builtins = createNotifiers(notifiers, { log, env: process.env });
  // A plugin's notifier starts in the background (its import and factory are bounded, but take time):
  // the router takes events for it at once and hands them over when it is up, so nothing waits for a plugin.
  const deferred = plugin.map((p) => new DeferredNotifier(p.name));
  const router = new NotifierRouter({ bus: events, projectId: config.project.id, notifiers: [...builtins, ...deferred], routes, log });
  router.start();
  if (builtins.length > 0) log(`notifiers: ${builtins.map((n) => n.name).join(', ')}`);
  if (plugin.length > 0) {
    const projectDir = config.project_dir;
    const write = debounced((statuses: readonly PluginNotifierStatus[]) => writePluginStatus(projectDir, statuses, log), 500);
    void (async () => {
      const { plugins } = discoverPlugins({ projectDir, env: process.env, paths: config.plugins.paths, trust: config.plugins.trust });
      const { notifiers: started, statuses } = await startPluginNotifiers(plugin, plugins, { projectDir, log, onStatus: write });
      for (const d of deferred) d.settle(started.find((n) => n.name === d.name) ?? null);
      const skipped = statuses.filter((s) => s.state !== 'running').map((s) => s.name);
      log(`plugin notifiers: ${started.map((n) => n.name).join(', ') || 'none started'}${skipped.length === 0 ? '' : `; not started: ${skipped.join(', ')}`}`);
    })().catch((e: unknown) => {
      for (const d of deferred) d.settle(null);
      log(`plugin notifiers did not start: ${(e as Error)?.stack ?? String(e)}`);
    });
  }
  return router;
}

/**
 * Stands in for a plugin's notifier while it starts: events routed to it wait
 * (in the router's bounded queue) until it is up, then go to it; when it
 * could not start they are dropped (its problem is reported once, at start).
 */
class DeferredNotifier implements Notifier {
  private target: Notifier | null | undefined;
  private readonly ready: Promise<void>;
  private resolve!: () => void;

  constructor(readonly name: string) {
    this.ready = new Promise((r) => (this.resolve = r));
  }

  settle(target: Notifier | null): void {
    if (this.target !== undefined) {
      // Closed before it came up: nothing will route to it or close it later, so close it now
      // (its signal aborts and what it holds is released). Its close is bounded and logs its own failure.
      if (target !== null) void Promise.resolve().then(() => target.close?.()).catch(() => {});
      return;
    }
    this.target = target;
    this.resolve();
  }

  async notify(event: LoomEvent): Promise<void> {
    if (this.target === undefined) await this.ready;
    await this.target?.notify(event);
  }

  async close(): Promise<void> {
    if (this.target === undefined) this.settle(null);
    await this.target?.close?.();
  }
}

/** Calls `fn` with the latest arguments at most once per `ms` (the first call right away). */
function debounced<A>(fn: (a: A) => void, ms: number): (a: A) => void {
  let last = 0;
  let pending: A | undefined;
  let timer: NodeJS.Timeout | undefined;
  return (a: A) => {
    const wait = last + ms - Date.now();
    if (wait <= 0 && timer === undefined) {
      last = Date.now();
      fn(a);
      return;
    }
    pending = a;
    timer ??= setTimeout(() => {
      timer = undefined;
      last = Date.now();
      fn(pending as A);
    }, Math.max(0, wait));
    timer.unref();
  };
}
