import type pg from 'pg';
import { checkout, type CheckedOut } from './checkout.js';
import { toLoomError } from './db-errors.js';

/** Fewest row writes between two vacuums; a large table waits for a fiftieth of its rows. */
export const MIN_WRITES_BETWEEN_VACUUMS = 5_000;
const TABLE_SHARE = 50;
const LOCK = `hashtext('loom.vacuum.tasks')`;

/**
 * Keeps the ready index clean under bursts of claims (server mode).
 *
 * Every claim and completion leaves the task's old row version behind, and
 * its entry in the ready index (a partial index on pending tasks, in claim
 * order) stays until a VACUUM removes it. Those dead entries gather exactly
 * where every claim starts reading: the best tasks are claimed first. Each
 * claim then steps over all of them, so its cost grows with the claims made
 * since the last vacuum. Measured here with autovacuum off (as on these
 * machines): after 58,000 claims one pick read 484 index pages (1.7 ms), and
 * a two-minute run at full speed fell from 3,100 to 1,260 cycles/s.
 * Autovacuum, where it is on, looks at a table at most once a minute and
 * then works throttled, so a burst of agents outruns it too.
 *
 * So the store counts the task rows it rewrites and, after a burst (5,000
 * rows, or a fiftieth of the table if that is more), vacuums `tasks` in the
 * background:
 * - index cleanup forced: with few dead rows in a large table VACUUM would
 *   otherwise skip the indexes, and the index is the point;
 * - no truncation: it would take an exclusive lock on the table;
 * - SKIP_LOCKED: an autovacuum already at work on it is enough;
 * - one process at a time across all machines (an advisory lock; the others
 *   skip theirs).
 * A vacuum took 10-30 ms at 20,000 tasks and ~55 ms at 500,000. A failure
 * (the table owned by another role, a dropped connection) only means no
 * vacuum this time. The embedded daemon does its own maintenance between
 * requests (PGlite has one connection), so it does not use this.
 */
export class VacuumAfterBursts {
  private writes = 0;
  private threshold = MIN_WRITES_BETWEEN_VACUUMS;
  private running: Promise<void> | null = null;
  private closed = false;

  constructor(private readonly pool: pg.Pool) {}

  /** `rows` task rows were rewritten: vacuum in the background once a burst is over the threshold. */
  wrote(rows: number): void {
    this.writes += rows;
    if (this.writes < this.threshold || this.running !== null || this.closed) return;
    this.writes = 0;
    this.running = this.vacuum().finally(() => {
      this.running = null;
    });
  }

  /** Waits for a vacuum under way; no new one starts. */
  async close(): Promise<void> {
    this.closed = true;
    await this.running;
  }

  private async vacuum(): Promise<void> {
    let out: CheckedOut | undefined;
    try {
      out = await checkout(this.pool);
      const { rows } = await out.client.query(`SELECT pg_try_advisory_lock(${LOCK}) AS locked`);
      if (rows[0]?.locked !== true) return; // another process is vacuuming
      try {
        await out.client.query('VACUUM (INDEX_CLEANUP ON, TRUNCATE false, SKIP_LOCKED) tasks');
        const size = await out.client.query(`SELECT reltuples FROM pg_class WHERE oid = 'tasks'::regclass`);
        this.threshold = Math.max(MIN_WRITES_BETWEEN_VACUUMS, Math.round(Number(size.rows[0]?.reltuples ?? 0) / TABLE_SHARE));
      } finally {
        await out.client.query(`SELECT pg_advisory_unlock(${LOCK})`);
      }
    } catch {
      // Maintenance only: the next burst tries again. A lock held by a dropped connection ended with it.
      if (out !== undefined) out.broken = true;
    } finally {
      out?.release();
    }
  }
}

export interface VacuumRights {
  /** This role may vacuum `tasks`: it owns it (or belongs to its owner), owns the database, or is a superuser. */
  can: boolean;
  role: string;
  owner: string;
  /** The server runs autovacuum at all. */
  autovacuum: boolean;
}

/** Whether this connection's role may vacuum `tasks` (for `loom doctor`). */
export async function vacuumRights(pool: pg.Pool): Promise<VacuumRights> {
  try {
    const { rows } = await pool.query(
      `SELECT r.rolsuper OR pg_has_role(current_user, c.relowner, 'USAGE') OR pg_has_role(current_user, d.datdba, 'USAGE') AS can,
              current_user AS role, pg_get_userbyid(c.relowner) AS owner, current_setting('autovacuum') = 'on' AS autovacuum
         FROM pg_class c, pg_roles r, pg_database d
        WHERE c.oid = 'tasks'::regclass AND r.rolname = current_user AND d.datname = current_database()`,
    );
    return rows[0] as VacuumRights;
  } catch (e) {
    throw toLoomError(e);
  }
}
