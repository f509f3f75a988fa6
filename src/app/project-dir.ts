import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

/**
 * Where Loom's folders are, and which project a directory belongs to. Light
 * (node built-ins only): `loom mcp` finds its project with it before anything
 * else loads.
 */

/** A project's config file, relative to the project's directory. */
export const PROJECT_CONFIG = join('.loom', 'config.yaml');

/** The user's Loom folder (config, plugins, skills, workflows): LOOM_HOME, else ~/.loom. */
export const loomHome = (env: NodeJS.ProcessEnv): string => env.LOOM_HOME ?? join(env.HOME ?? homedir(), '.loom');

/** The user config file: `$LOOM_HOME/config.yaml` (default ~/.loom/config.yaml), read before the project's. */
export const userConfigPath = (env: NodeJS.ProcessEnv): string => join(loomHome(env), 'config.yaml');

/**
 * Whether `dir/.loom` is the user's Loom folder: then its `config.yaml` is the
 * user config, and `dir` (the home folder, by default) is not a project.
 */
export const isLoomHomeParent = (dir: string, env: NodeJS.ProcessEnv): boolean => resolve(dir, '.loom') === resolve(loomHome(env));

/**
 * The directory of the nearest `.loom/config.yaml` at or above `start`, or
 * null; the home folder's `~/.loom/config.yaml` is the user config, not a
 * project, and is passed over.
 */
export function findProjectDir(start: string, env: NodeJS.ProcessEnv = process.env): string | null {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    if (existsSync(join(dir, PROJECT_CONFIG)) && !isLoomHomeParent(dir, env)) return dir;
    if (dirname(dir) === dir) return null;
  }
}
