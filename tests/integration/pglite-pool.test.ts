/**
 * The embedded store's pool after SQL errors. pg-pool throws a client away after a failed
 * query; PGlite is one session whatever the client. Each error below once left the pool
 * answering "Connection terminated unexpectedly" or the wrong query's rows (and a later
 * named statement "already exists") until the daemon restarted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPglitePool, type PglitePool } from '../../src/adapters/embedded/pglite-pool.js';

describe('the PGlite pool after SQL errors', () => {
  let p: PglitePool;
  beforeAll(async () => {
    p = await openPglitePool(undefined);
  });
  afterAll(async () => p.close());

  const value = async (n: number) => (await p.pool.query<{ v: number }>('SELECT $1::int AS v', [n])).rows[0]!.v;

  it.each<[string, { name?: string; text: string; values: unknown[] }, string]>([
    ['a run-time error in a parameterised query', { text: 'SELECT 1 / $1::int', values: [0] }, '22012'],
    ['an error planning a parameterised query', { text: 'SELECT $1::int + no_such_column', values: [0] }, '42703'],
    ['a bad parameter', { text: 'SELECT $1::int', values: ['abc'] }, '22P02'],
    ['a run-time error in a named statement', { name: 'divide', text: 'SELECT 1 / $1::int', values: [0] }, '22012'],
  ])('%s: the error is coded and the next queries get their own answers', async (_, query, code) => {
    await expect(p.pool.query(query)).rejects.toMatchObject({ code });
    expect(await value(1)).toBe(1);
    expect(await value(2)).toBe(2);
    expect((await p.pool.query('SELECT 3 AS v')).rows).toEqual([{ v: 3 }]);
  });

  it('a named statement prepared by a thrown-away client works again', async () => {
    await expect(p.pool.query({ name: 'half', text: 'SELECT 10 / $1::int AS v', values: [0] })).rejects.toMatchObject({ code: '22012' });
    expect((await p.pool.query({ name: 'half', text: 'SELECT 10 / $1::int AS v', values: [2] })).rows).toEqual([{ v: 5 }]);
    expect((await p.pool.query({ name: 'half', text: 'SELECT 10 / $1::int AS v', values: [5] })).rows).toEqual([{ v: 2 }]);
  });

  it('a transaction a thrown-away client left open is rolled back, not joined', async () => {
    const c = await p.pool.connect();
    await c.query('BEGIN');
    await c.query('CREATE TABLE left_open (a int)');
    c.release(new Error('thrown away mid-transaction'));
    expect((await p.pool.query("SELECT to_regclass('left_open')::text AS t")).rows).toEqual([{ t: null }]);
    const tx = await p.pool.connect();
    try {
      await tx.query('BEGIN');
      await tx.query('CREATE TABLE kept (a int)');
      await tx.query('COMMIT');
    } finally {
      tx.release();
    }
    expect((await p.pool.query("SELECT to_regclass('kept')::text AS t")).rows).toEqual([{ t: 'kept' }]);
  });
});
