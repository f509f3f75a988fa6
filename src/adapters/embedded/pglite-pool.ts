import { PGlite, type PGliteOptions } from '@electric-sql/pglite';
import type { CompiledWasm } from './pglite-wasm.js';
import { createPgConfig, PglitePgConnection } from '@electric-sql/pglite/node-postgres';
import pg from 'pg';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { dropTemplate, entriesOf, readTemplate, removeNewEntries, writeTemplate } from './pglite-template.js';

/**
 * The embedded store's Postgres buffer cache, in MB (`daemon.shared_buffers_mb`).
 * Postgres's own default, 128 MB, is zeroed by PGlite's WebAssembly as it
 * starts: ~0.4 s of every daemon start on this machine (~3 ms per MB), and
 * memory the daemon keeps for as long as it runs. A project's store is a few
 * MB, and a page this cache does not hold is one read of the file, which the
 * kernel caches.
 */
export const DEFAULT_SHARED_BUFFERS_MB = 16;

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
    /** Postgres's buffer cache, in MB (1 to 1024); absent: DEFAULT_SHARED_BUFFERS_MB. */
    sharedBuffersMb?: number;
  } = {},
): Promise<PglitePool> {
  // Postgres compiled ahead (pglite-wasm.ts), when the caller started it.
  const wasm = o.wasm === undefined ? null : await o.wasm;
  const base: PGliteOptions = {
    ...(dataDir === undefined ? {} : { dataDir }),
    ...(wasm === null ? {} : { pgliteWasmModule: wasm as NonNullable<PGliteOptions['pgliteWasmModule']> }),
    startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${sharedBuffers(o.sharedBuffersMb ?? DEFAULT_SHARED_BUFFERS_MB)}MB`],
  };
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

/** A whole number of MB Postgres accepts (its minimum is 128 kB); the config schema bounds it, this guards other callers. */
function sharedBuffers(mb: number): number {
  if (!Number.isInteger(mb) || mb < 1 || mb > 1024) throw new RangeError(`shared_buffers must be a whole number of MB from 1 to 1024, not ${mb}`);
  return mb;
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
