import type pg from 'pg';

/**
 * Resolves once every connection the pool holds now has really closed.
 * `pool.end()` resolves before its clients finish closing, so a test that
 * drops its database right after (DROP DATABASE ... WITH (FORCE)) would have
 * the server kill those connections, and the pool raise an unhandled 57P01.
 * Call it before closing the service, await it before dropping the database.
 */
export function poolDrained(pool: pg.Pool): Promise<void> {
  let open = pool.totalCount;
  if (open === 0) return Promise.resolve();
  return new Promise((resolve) => {
    pool.on('remove', () => {
      if (--open === 0) resolve();
    });
  });
}
