/**
 * The embedded store's pool after SQL errors. pg-pool throws a client away after a failed
 * query; PGlite is one session whatever the client. Each error below once left the pool
 * answering "Connection terminated unexpectedly" or the wrong query's rows (and a later
 * named statement "already exists") until the daemon restarted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_SHARED_BUFFERS_MB, openPglitePool, type PglitePool } from '../../src/adapters/embedded/pglite-pool.js';
import { compilePgliteWasm } from '../../src/adapters/embedded/pglite-wasm.js';

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

describe("the PGlite pool's buffer cache", () => {
  const setting = async (p: PglitePool) => (await p.pool.query<{ s: string }>("SELECT current_setting('shared_buffers') AS s")).rows[0]!.s;

  it("is DEFAULT_SHARED_BUFFERS_MB unless told, not Postgres's 128 MB (zeroed at every start)", async () => {
    expect(DEFAULT_SHARED_BUFFERS_MB).toBeLessThan(128);
    const p = await openPglitePool(undefined);
    try {
      expect(await setting(p)).toBe(`${DEFAULT_SHARED_BUFFERS_MB}MB`);
    } finally {
      await p.close();
    }
    const told = await openPglitePool(undefined, { sharedBuffersMb: 8 });
    try {
      expect(await setting(told)).toBe('8MB');
    } finally {
      await told.close();
    }
  });

  it('opens with Postgres compiled ahead (as the daemon does from its first moment)', async () => {
    const wasm = compilePgliteWasm();
    expect(await wasm).not.toBeNull();
    const p = await openPglitePool(undefined, { wasm });
    try {
      expect((await p.pool.query<{ v: number }>('SELECT 41 + 1 AS v')).rows).toEqual([{ v: 42 }]);
    } finally {
      await p.close();
    }
  });

  it.each([0, 1025, 1.5, Number.NaN])('refuses %s MB before opening anything', async (mb) => {
    await expect(openPglitePool(undefined, { sharedBuffersMb: mb })).rejects.toThrowError(/shared_buffers must be a whole number of MB from 1 to 1024/);
  });
});
