import type { ServiceIdentifier } from 'inversify';

/** One skill file as a source hands it over: its text is parsed and validated by the registry. */
export interface SkillFile {
  /** Where it came from, for problem reports (an absolute path, or a name inside a package). */
  path: string;
  text: string;
  /** The id of the source that listed it. */
  source: string;
  /** Its size in bytes when the source did not read it (over the size limit): the registry reports it. */
  size?: number;
}

/**
 * Where skills come from: the builtin folder, plugins, the user's and the
 * project's `.loom/skills/`. Bound as a multi-binding, so the plugin loader
 * adds sources without changing the registry. Sources with a higher
 * `precedence` win by name; plugin sources set `namespace` (their skills are
 * named `<namespace>/<skill>`).
 */
export interface SkillSource {
  id: string;
  precedence: number;
  namespace?: string;
  list(): Promise<SkillFile[]>;
}
export const SkillSource: ServiceIdentifier<SkillSource> = Symbol.for('loom.SkillSource');

/** Precedences of the standard sources: later wins by name. */
export const SKILL_PRECEDENCE = { builtin: 0, plugin: 100, user: 200, project: 300 } as const;
