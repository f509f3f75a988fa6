import { notifierSetupFromConfig } from '../adapters/notifiers/config-schema.js';
import { createNotifiers } from '../adapters/notifiers/module.js';
import { NotifierRouter } from '../adapters/notifiers/notifier-router.js';
import type { EventSource } from '../ports/loom-connector.js';
import type { LoomConfig } from './config.js';

/**
 * Starts the project's notifiers (config `notifications`) on the process
 * that owns its events: the daemon in embedded mode, `loom orchestrate` in
 * server mode. One owner per project, so nothing is sent twice.
 */
export function startNotifiers(config: LoomConfig, events: EventSource, log: (line: string) => void): NotifierRouter | undefined {
  if (config.project === null || (config.notifications.notifiers ?? []).length === 0) return undefined;
  const { notifiers, routes } = notifierSetupFromConfig(config.notifications, config.sources.join(', '));
  const router = new NotifierRouter({ bus: events, projectId: config.project.id, notifiers: createNotifiers(notifiers, { log, env: process.env }), routes, log });
  router.start();
  log(`notifiers: ${notifiers.map((n) => n.name ?? n.type).join(', ')}`);
  return router;
}
