import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PluginNotifierStatus } from '../plugins/host/notifiers.js';

// Apart from notifications.ts (which writes it) so that plugins.ts (which reads it) does not import the
// notifier start-up and, through its LoomConfig, the config module: that closed an import cycle.

/** Where the process that owns a project's notifiers records how its plugin notifiers are doing. */
export const pluginStatusFile = (projectDir: string): string => join(projectDir, '.loom', 'daemon.plugins.json');

/** The content of that file: read by `loom plugins list` and `loom doctor` in other processes. */
export interface PluginRuntimeStatus {
  pid: number;
  updated_at: string;
  notifiers: PluginNotifierStatus[];
}

/** The recorded status, when the process that wrote it still runs (null otherwise). */
export function readPluginStatus(projectDir: string): PluginRuntimeStatus | null {
  const file = pluginStatusFile(projectDir);
  if (!existsSync(file)) return null;
  try {
    const status = JSON.parse(readFileSync(file, 'utf8')) as PluginRuntimeStatus;
    if (typeof status.pid !== 'number' || !Array.isArray(status.notifiers)) return null;
    process.kill(status.pid, 0); // throws when that process is gone: its notifiers are gone too
    return status;
  } catch {
    return null;
  }
}

/** Records how the plugin notifiers are doing (atomically: written aside, then renamed). */
export function writePluginStatus(projectDir: string, statuses: readonly PluginNotifierStatus[], log: (line: string) => void): void {
  const file = pluginStatusFile(projectDir);
  const status: PluginRuntimeStatus = { pid: process.pid, updated_at: new Date().toISOString(), notifiers: [...statuses] };
  try {
    writeFileSync(`${file}.tmp`, `${JSON.stringify(status, null, 2)}\n`);
    renameSync(`${file}.tmp`, file);
  } catch (e) {
    log(`cannot write ${file}: ${(e as Error).message}`);
  }
}
