import { LoomError } from '../../domain/errors.js';

const RETRYABLE = new Set(['40001', '40P01']); // serialization failure, deadlock
const UNAVAILABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'ETIMEDOUT', 'EHOSTUNREACH', '57P01', '57P03', '08000', '08001', '08003', '08006']);

export const isRetryableDbError = (e: unknown): boolean => RETRYABLE.has(String((e as { code?: unknown })?.code));

/** Where a failed connection tried to go: the socket error's address and port (the first of several, for a name with many addresses). */
function target(e: unknown): string | null {
  const first = (e as { errors?: unknown[] })?.errors?.[0] ?? e;
  const { address, port } = (first ?? {}) as { address?: unknown; port?: unknown };
  if (typeof address !== 'string') return null;
  return typeof port === 'number' ? `${address.includes(':') ? `[${address}]` : address}:${port}` : address;
}

/** Maps a driver error to a coded error: people and models never see raw SQL errors. */
export function toLoomError(e: unknown): LoomError {
  if (LoomError.is(e)) return e;
  const code = String((e as { code?: unknown })?.code ?? '');
  const message = e instanceof Error ? e.message : String(e);
  if (UNAVAILABLE.has(code) || /Connection terminated|connect ECONNREFUSED|timeout exceeded when trying to connect/i.test(message)) {
    const where = target(e);
    return new LoomError('DATABASE_UNAVAILABLE', `the database cannot be reached${where === null ? '' : ` at ${where}`}${code === '' ? '' : ` (${code})`}`, {
      hint: 'check that Postgres is running there and that LOOM_DATABASE_URL names the right host and port; nothing was written',
      cause: e,
      details: { driver_code: code, ...(where === null ? {} : { target: where }) },
    });
  }
  if (code === '3D000') {
    // invalid_catalog_name: the URL names a database the server does not have
    return new LoomError('DATABASE_NOT_FOUND', `${message}: the server is up, the database is not there`, {
      hint: 'create it (`createdb NAME`, or `CREATE DATABASE name;` as a superuser), or fix the database name at the end of LOOM_DATABASE_URL; Loom creates its tables itself',
      cause: e,
      details: { driver_code: code },
    });
  }
  if (code === '28000' || code === '28P01') {
    // invalid_authorization_specification (no such role, or pg_hba refuses it) / invalid_password
    return new LoomError('DATABASE_AUTH_FAILED', `the database refused the login: ${message}`, {
      hint:
        code === '28P01'
          ? 'check the password in LOOM_DATABASE_URL (postgres://USER:PASSWORD@HOST:PORT/DB; characters like @ : / in it must be percent-encoded)'
          : 'check the user in LOOM_DATABASE_URL: the role must exist (`CREATE ROLE name LOGIN PASSWORD ...`) and pg_hba.conf must let it connect from here',
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
