import { LoomError } from '../domain/errors.js';
import type { LoomApi } from '../ports/loom-api.js';

/**
 * Server mode: many processes on many machines share one database, and the
 * first newer Loom to start migrates it while older ones keep running (a
 * `loom serve`, an orchestrator, a Claude Code session's `loom mcp`). Each
 * migration is forward-only and most only add, so old code keeps working;
 * where a change does break a statement of the old code, the database error
 * it gets would be INTERNAL ("a bug in Loom"). This guard looks at the
 * schema version when a call fails with INTERNAL and, if a newer Loom has
 * moved the database past this code, answers MIGRATION_AHEAD with what to
 * do instead: restart the process with the newer Loom. It costs nothing
 * while calls succeed, and serves on: calls the old code can still make keep
 * working.
 */
export function guardSchema(api: LoomApi, o: { codeVersion: number; databaseVersion: () => Promise<number> }): LoomApi {
  const explain = async (error: unknown): Promise<never> => {
    if (!(LoomError.is(error) && error.code === 'INTERNAL')) throw error;
    const db = await o.databaseVersion().catch(() => null);
    if (db === null || db <= o.codeVersion) throw error;
    throw new LoomError('MIGRATION_AHEAD', `a newer Loom migrated the database (schema version ${db}) while this process ran with schema version ${o.codeVersion}; this call needs the newer code`, {
      hint: 'restart this process with the newer Loom (upgrade Loom on this machine first): `loom serve`, `loom orchestrate`, `loom dashboard`, and in Claude Code the loom MCP server (/mcp, reconnect); nothing was written',
      cause: error,
      details: { database_version: db, code_version: o.codeVersion },
    });
  };
  return mapErrors(api, explain);
}

/**
 * For a long-running, supervised process (`loom orchestrate`, `loom serve`): the api, watched for the first
 * MIGRATION_AHEAD any call answers, which is logged and handed to `stop` once. The process then stops as on
 * SIGTERM and fails with `ahead()`, so that its supervisor restarts it with the newer Loom instead of every
 * call failing from then on. The caller still gets each rejection.
 */
export function stopOnUpgrade(api: LoomApi, o: { log: (line: string) => void; stop: () => void }): { api: LoomApi; ahead: () => LoomError | null } {
  let ahead: LoomError | null = null;
  const watched = mapErrors(api, async (error) => {
    if (ahead === null && LoomError.is(error) && error.code === 'MIGRATION_AHEAD') {
      ahead = error;
      o.log(`${error.message}: stopping (${error.hint ?? 'restart it with the newer Loom'})`);
      o.stop();
    }
    throw error;
  });
  return { api: watched, ahead: () => ahead };
}

/** Each method's rejection goes through `map` (which rethrows what the caller gets); `close` is left alone. */
function mapErrors(api: LoomApi, map: (error: unknown) => Promise<never>): LoomApi {
  return new Proxy(api, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver) as unknown;
      if (typeof value !== 'function' || key === 'close') return value;
      return (...args: unknown[]) => {
        const result = (value as (...a: unknown[]) => unknown).apply(target, args);
        return result instanceof Promise ? result.catch(map) : result;
      };
    },
  });
}
