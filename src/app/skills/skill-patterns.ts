/**
 * The patterns of skill names and arguments, apart from skill-file.ts so that
 * the config and request schemas (schemas.ts) use them without loading the
 * template engine (~0.1 s): the daemon and `loom mcp` read the config first thing.
 */

export const SKILL_NAME_PATTERN = '^[a-z][a-z0-9_-]{0,63}$';
/** A name as asked for: a plain skill or a plugin's `<plugin>/<skill>`. */
export const SKILL_REF_PATTERN = '^([a-z][a-z0-9-]{0,63}/)?[a-z][a-z0-9_-]{0,63}$';
/** An argument's name: a plain liquid variable (no leading underscore, so never `__proto__`). */
export const ARGUMENT_NAME_PATTERN = '^[a-z][a-z0-9_]{0,63}$';
