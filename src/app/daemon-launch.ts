import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import * as yaml from 'js-yaml';
import { daemonSocketPath, daemonToken } from '../adapters/embedded/daemon-address.js';
import { DaemonClient } from '../adapters/embedded/daemon-client.js';
import { findProjectDir, PROJECT_CONFIG, userConfigPath } from './project-dir.js';

/**
 * A client of a project's daemon that starts one when none answers; light to
 * load (no config checks, no services), so `loom mcp` can start the daemon
 * first thing.
 */
export function daemonClientFor(projectDir: string, o: { env: NodeJS.ProcessEnv; daemonEntry: string }): DaemonClient {
  const loomDir = join(projectDir, '.loom');
  mkdirSync(loomDir, { recursive: true });
  return new DaemonClient({
    socketPath: daemonSocketPath(join(loomDir, 'data')),
    token: daemonToken(loomDir),
    readToken: () => daemonToken(loomDir),
    spawnDaemon: () => {
      const logFd = openSync(join(loomDir, 'daemon.log'), 'a');
      const child = spawn(process.execPath, [...daemonNodeFlags(), o.daemonEntry, 'daemon', 'run', '--project-dir', projectDir], {
        detached: true,
        stdio: ['ignore', logFd, logFd],
        env: o.env,
        cwd: projectDir,
      });
      child.unref();
    },
  });
}

/**
 * Node runs V8's background work (the tier-up compiles of Postgres's WebAssembly, the garbage
 * collector's helpers) on a pool of 4 threads whatever the machine. On 2 cores that takes CPU
 * from the daemon's start, which runs on its main thread, and each thread touches memory of its own:
 * on this 2-core machine the start took ~1.0 s with 4 threads and ~0.8 s with 1 (bare daemon
 * starts, alternating). One thread fewer than the cores, at least 1, at most Node's own 4.
 */
export function daemonNodeFlags(cores = availableParallelism()): string[] {
  return [`--v8-pool-size=${Math.max(1, Math.min(4, cores - 1))}`];
}

/** The project's daemon, being reached (and started if none runs) since the process started. */
export interface EarlyDaemon {
  projectDir: string;
  client: DaemonClient;
}

/** `.loom/config.yaml`, as config.ts names it (not imported from there: it loads the config checks). */
const DATABASE_URL_KEY = /^\s*database_url\s*:/m;

/**
 * Starts reaching the project's daemon (starting it when none runs) before the config is read
 * and checked: on a cold machine that is seconds, and the checks take a while to load. Only
 * when the project's config records the embedded store and nothing names a database
 * (LOOM_DATABASE_URL, database_url in either config file): when unsure, null, and the store
 * opens the usual way. The caller hands the client to the connector, which uses it once its
 * own checks agree, and closes it otherwise.
 */
export function reachDaemonEarly(o: { cwd: string; env: NodeJS.ProcessEnv; projectDir?: string; daemonEntry: string }): EarlyDaemon | null {
  try {
    if ((o.env.LOOM_DATABASE_URL ?? '') !== '') return null;
    let projectDir: string | null = null;
    if (o.projectDir !== undefined && o.projectDir !== '') {
      projectDir = resolve(o.cwd, o.projectDir);
      if (!existsSync(join(projectDir, PROJECT_CONFIG))) return null;
    } else {
      projectDir = findProjectDir(o.cwd, o.env);
      if (projectDir === null) return null;
    }
    const userConfig = userConfigPath(o.env);
    if (existsSync(userConfig) && DATABASE_URL_KEY.test(readFileSync(userConfig, 'utf8'))) return null;
    const text = readFileSync(join(projectDir, PROJECT_CONFIG), 'utf8');
    if (DATABASE_URL_KEY.test(text)) return null;
    const doc = yaml.load(text) as { project?: { store?: unknown } } | null;
    if (doc?.project?.store !== 'embedded') return null;
    const client = daemonClientFor(projectDir, o);
    client.connect().catch(() => undefined); // the connector's open() says what is wrong, if anything
    return { projectDir, client };
  } catch {
    return null;
  }
}
