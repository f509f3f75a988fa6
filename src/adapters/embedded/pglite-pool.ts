import { PGlite, type PGliteOptions } from '@electric-sql/pglite';
import type { CompiledWasm } from './pglite-wasm.js';
import { createPgConfig, PglitePgConnection } from '@electric-sql/pglite/node-postgres';
import pg from 'pg';

export interface PglitePool {
  pool: pg.Pool;
  db: PGlite;
  close(): Promise<void>;
}

/**
 * PGlite behind a node-postgres pool of exactly one connection, so the one
 * SQL store serves the embedded database too. The caller must be the only
 * owner of `dataDir` (see the daemon's owner lock).
 *
 * Every client the pool makes gets a connection object of its own. pg-pool
 * throws a client away after any failed `pool.query` (a constraint, a bad
 * cast, a statement that fails at run time), and with the one connection
 * object of `createPgConfig` shared by every client, the old client's late
 * `end` reached the new one: "Connection terminated unexpectedly", then
 * replies answering the wrong query, until the daemon restarted.
 *
 * PGlite is one session whatever the client, so a new client starts by
 * clearing what an earlier one may have left in it: an open (or aborted)
 * transaction, and named statements its own statement cache does not know
 * (preparing one again would fail with "already exists").
 */
export async function openPglitePool(dataDir: string | undefined, o: { wasm?: Promise<CompiledWasm | null> } = {}): Promise<PglitePool> {
  // Postgres compiled ahead (pglite-wasm.ts), when the caller started it.
  const wasm = o.wasm === undefined ? null : await o.wasm;
  const db = await PGlite.create({ ...(dataDir === undefined ? {} : { dataDir }), ...(wasm === null ? {} : { pgliteWasmModule: wasm as NonNullable<PGliteOptions['pgliteWasmModule']> }) });
  const { connection: _shared, ...config } = createPgConfig(db);
  const pool = new pg.Pool({ ...config, Client: pgliteClient(db), max: 1, idleTimeoutMillis: 0 });
  return {
    pool,
    db,
    async close() {
      await pool.end();
      await db.close();
    },
  };
}

type ConnectCallback = ((err: Error) => void) | ((err: null, c: pg.Client) => void);

function pgliteClient(db: PGlite): typeof pg.Client {
  class PgliteClient extends pg.Client {
    constructor(config: pg.ClientConfig) {
      super({ ...config, connection: new PglitePgConnection({ pglite: db }) } as pg.ClientConfig);
    }

    override connect(): Promise<pg.Client>;
    override connect(callback: ConnectCallback): void;
    override connect(callback?: ConnectCallback): Promise<pg.Client> | void {
      const ready = (async (): Promise<pg.Client> => {
        await super.connect();
        // Outside a transaction ROLLBACK only warns; inside one it ends what a thrown-away client left.
        await this.query('ROLLBACK');
        await this.query('DEALLOCATE ALL');
        return this;
      })();
      if (callback === undefined) return ready;
      ready.then(
        (client) => (callback as (err: null, c: pg.Client) => void)(null, client),
        (e: unknown) => (callback as (err: Error) => void)(e instanceof Error ? e : new Error(String(e))),
      );
    }
  }
  return PgliteClient;
}
