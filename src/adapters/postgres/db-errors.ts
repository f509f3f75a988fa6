import { LoomError } from '../../domain/errors.js';

const RETRYABLE = new Set(['40001', '40P01']); // serialization failure, deadlock
const UNAVAILABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'ETIMEDOUT', 'EHOSTUNREACH', '57P01', '57P03', '08000', '08001', '08003', '08006']);

export const isRetryableDbError = (e: unknown): boolean => RETRYABLE.has(String((e as { code?: unknown })?.code));

/** Maps a driver error to a coded error: people and models never see raw SQL errors. */
export function toLoomError(e: unknown): LoomError {
  if (LoomError.is(e)) return e;
  const code = String((e as { code?: unknown })?.code ?? '');
  const message = e instanceof Error ? e.message : String(e);
  if (UNAVAILABLE.has(code) || /Connection terminated|connect ECONNREFUSED|timeout exceeded when trying to connect/i.test(message)) {
    return new LoomError('DATABASE_UNAVAILABLE', 'the database cannot be reached', {
      hint: 'check that Postgres is running and LOOM_DATABASE_URL is right; nothing was written',
      cause: e,
      details: { driver_code: code },
    });
  }
  if (RETRYABLE.has(code)) {
    // Still colliding after the store's own retries: concurrent writers keep changing the same tasks.
    return new LoomError('CONFLICT', 'the change kept colliding with concurrent changes to the same tasks; nothing was written', {
      hint: 'try again in a moment; if it keeps happening, fewer writers are editing the same part of the graph at once',
      cause: e,
      details: { driver_code: code },
    });
  }
  if (code === '42501') {
    // insufficient_privilege: a role given fewer rights than Loom's statements need
    return new LoomError('DATABASE_PERMISSION', `the database role may not do this: ${message}; nothing was written`, {
      hint: "connect as the role that owns Loom's tables (the one that ran `loom migrate`), or grant this role what the message names",
      cause: e,
      details: { driver_code: code },
    });
  }
  return new LoomError('INTERNAL', `database error${code ? ` ${code}` : ''}; nothing was written`, {
    hint: 'this is a bug in Loom or a damaged database; run with LOOM_DEBUG=1 for details and report it',
    cause: e,
    details: { driver_code: code },
  });
}
