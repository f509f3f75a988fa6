import type pg from 'pg';
import { toLoomError } from './db-errors.js';

export interface CheckedOut {
  client: pg.PoolClient;
  /** Set when the connection must not go back to the pool (a failed ROLLBACK, a dropped socket). */
  broken: boolean;
  /** Gives the client back, destroying it when broken. */
  release(): void;
}

/**
 * A client of the pool for several statements in a row (a transaction).
 * While it is out, a dropped connection (a Postgres restart between two
 * statements) emits 'error' on the client: heard here, it marks the client
 * broken instead of crashing the process as an unheard 'error' would.
 */
export async function checkout(pool: pg.Pool): Promise<CheckedOut> {
  let client: pg.PoolClient;
  try {
    client = await pool.connect();
  } catch (e) {
    throw toLoomError(e);
  }
  const out: CheckedOut = {
    client,
    broken: false,
    release: () => {
      client.off('error', dropped);
      client.release(out.broken);
    },
  };
  const dropped = (): void => {
    out.broken = true;
  };
  client.on('error', dropped);
  return out;
}

/** Runs `fn` in one read-only, repeatable-read transaction: several reads that see one snapshot. */
export async function inSnapshot<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const out = await checkout(pool);
  try {
    await out.client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const result = await fn(out.client);
    await out.client.query('COMMIT');
    return result;
  } catch (e) {
    await out.client.query('ROLLBACK').catch(() => {
      out.broken = true;
    });
    throw toLoomError(e);
  } finally {
    out.release();
  }
}
