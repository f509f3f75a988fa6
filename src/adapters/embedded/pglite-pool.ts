import { PGlite, type PGliteOptions } from '@electric-sql/pglite';
import type { CompiledWasm } from './pglite-wasm.js';
import { createPgConfig, PglitePgConnection } from '@electric-sql/pglite/node-postgres';
import pg from 'pg';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { dropTemplate, entriesOf, readTemplate, removeNewEntries, writeTemplate } from './pglite-template.js';

export interface PglitePool {
  pool: pg.Pool;
  db: PGlite;
  /** How the data directory came to be: opened as it was, unpacked from the template, or made by initdb. */
  started: 'existing' | 'template' | 'initdb';
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
export async function openPglitePool(
  dataDir: string | undefined,
  o: {
    wasm?: Promise<CompiledWasm | null>;
    /** Where a new store's starting copy is kept (pglite-template.ts); null or absent: initdb every time. */
    template?: string | null;
    /** Told when the template could not be used or kept (the store opens all the same). */
    warn?: (line: string) => void;
  } = {},
): Promise<PglitePool> {
  // Postgres compiled ahead (pglite-wasm.ts), when the caller started it.
  const wasm = o.wasm === undefined ? null : await o.wasm;
  const base: PGliteOptions = { ...(dataDir === undefined ? {} : { dataDir }), ...(wasm === null ? {} : { pgliteWasmModule: wasm as NonNullable<PGliteOptions['pgliteWasmModule']> }) };
  const fresh = dataDir === undefined || !existsSync(join(dataDir, 'PG_VERSION'));
  const template = fresh ? (o.template ?? null) : null;
  let db: PGlite | undefined;
  let started: PglitePool['started'] = fresh ? 'initdb' : 'existing';
  const tar = template === null ? null : readTemplate(template);
  if (template !== null && tar !== null) {
    const before = dataDir === undefined ? new Set<string>() : entriesOf(dataDir);
    try {
      if (!(tar instanceof Uint8Array)) throw new Error(tar.broken);
      db = await PGlite.create({ ...base, loadDataDir: new Blob([tar], { type: 'application/x-tar' }) });
      started = 'template';
    } catch (e) {
      o.warn?.(`the new store's starting copy ${template} did not load (${(e as Error)?.message ?? String(e)}): removed it, running initdb instead`);
      dropTemplate(template);
      if (dataDir !== undefined) removeNewEntries(dataDir, before);
    }
  }
  if (db === undefined) {
    db = await PGlite.create(base);
    if (template !== null) {
      // Right after initdb, before any migration: the copy every later new store starts from.
      try {
        writeTemplate(template, new Uint8Array(await (await db.dumpDataDir('gzip')).arrayBuffer()));
      } catch (e) {
        o.warn?.(`could not keep a starting copy for new stores at ${template}: ${(e as Error)?.message ?? String(e)}`);
      }
    }
  }
  const opened = db;
  const { connection: _shared, ...config } = createPgConfig(opened);
  const pool = new pg.Pool({ ...config, Client: pgliteClient(opened), max: 1, idleTimeoutMillis: 0 });
  return {
    pool,
    db: opened,
    started,
    async close() {
      await pool.end();
      await opened.close();
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
