import type pg from 'pg';
import type { Task } from '../../domain/task.js';
import type { OutboxStore, RelayedEvent, RelayLag, RelayPass, RelayReader } from '../../ports/outbox.js';
import type { RelayPosition } from '../../ports/task-cache.js';
import { checkout, inSnapshot } from './checkout.js';
import { toLoomError } from './db-errors.js';
import { TASK_COLUMNS, TASK_LIST_COLUMNS, toEvent, toTask, type Row } from './rows.js';

/** Advisory lock key of a relay target: one relay per target publishes at a time. */
const lockKey = (name: string): string => `hashtext('loom.relay.' || ${quoteLiteral(name)})`;

function quoteLiteral(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

const withoutToken = (t: Task): Task => (t.lease_token === null ? t : { ...t, lease_token: null });

/**
 * The relay cursor in Postgres (see migrations/0004_outbox_relay.sql for why
 * the order is (tx_id, id) and why only transactions older than the
 * snapshot's xmin are read).
 *
 * A pass is one transaction: try the advisory lock (another relay holding it
 * means this one stands by, without waiting), read the cursor and the next
 * batch, hand them to the publisher, move the cursor. A publisher that fails
 * rolls the pass back; the next pass publishes the same events again and the
 * sink drops what it already had.
 */
export class PgOutboxStore implements OutboxStore {
  constructor(
    private readonly pool: pg.Pool,
    private readonly ownsPool = true,
  ) {}

  async relayPass(name: string, limit: number, publish: (batch: readonly RelayedEvent[], reader: RelayReader) => Promise<void>): Promise<RelayPass> {
    const out = await checkout(this.pool);
    const client = out.client;
    let publishing = false;
    try {
      await client.query('BEGIN');
      const lock = await client.query(`SELECT pg_try_advisory_xact_lock(${lockKey(name)}) AS locked`);
      if (lock.rows[0].locked !== true) {
        await client.query('ROLLBACK');
        return { locked: false };
      }
      const cursor = await client.query('SELECT tx_id::text AS tx, event_id::text AS id, relay_id FROM relay_cursors WHERE name = $1', [name]);
      let from: RelayPosition & { relay_id: string };
      if (cursor.rows[0] === undefined) {
        // A relay target never seen before starts at the end of the log: the
        // past is in the event log, not news.
        const end = await client.query(
          `INSERT INTO relay_cursors (name, tx_id, event_id)
           SELECT $1, COALESCE(max(tx_id), '0'), COALESCE(max(id), 0) FROM events
           RETURNING tx_id::text AS tx, event_id::text AS id, relay_id`,
          [name],
        );
        from = end.rows[0] as RelayPosition & { relay_id: string };
      } else {
        from = cursor.rows[0] as RelayPosition & { relay_id: string };
      }
      const r = await client.query({
        name: 'loom_relay_batch',
        text: `SELECT e.*, e.tx_id::text AS tx FROM events e
                WHERE (e.tx_id, e.id) > ($1::xid8, $2::bigint)
                  AND e.tx_id < pg_snapshot_xmin(pg_current_snapshot())
                ORDER BY e.tx_id, e.id
                LIMIT $3`,
        values: [from.tx, from.id, limit],
      });
      const batch: RelayedEvent[] = r.rows.map((row: Row) => ({ event: toEvent(row), position: { tx: row.tx as string, id: String(row.id) } }));
      if (batch.length === 0) {
        await client.query('COMMIT'); // keeps a cursor row made just now
        return { locked: true, count: 0, position: { tx: from.tx, id: from.id } };
      }
      publishing = true;
      await publish(batch, this.reader(client, from.relay_id));
      publishing = false;
      const to = batch[batch.length - 1]!.position;
      await client.query('UPDATE relay_cursors SET tx_id = $2::xid8, event_id = $3::bigint, published_at = now() WHERE name = $1', [name, to.tx, to.id]);
      await client.query('COMMIT');
      return { locked: true, count: batch.length, position: to };
    } catch (e) {
      try {
        await client.query('ROLLBACK');
      } catch {
        out.broken = true;
      }
      if (publishing) throw e; // the publisher's own error, as it was
      throw toLoomError(e);
    } finally {
      out.release();
    }
  }

  private reader(client: pg.PoolClient, relayId: string): RelayReader {
    const q = async (text: string, values: unknown[], name: string): Promise<Row[]> => {
      try {
        return (await client.query({ name, text, values })).rows as Row[];
      } catch (e) {
        throw toLoomError(e);
      }
    };
    return {
      relayId,
      readyHead: async (projectId, size) =>
        (
          await q(
            `SELECT ${TASK_LIST_COLUMNS} FROM tasks t
              WHERE t.project_id = $1 AND t.status = 'pending' AND t.held_at IS NULL AND t.unmet_deps = 0
              ORDER BY t.priority, t.weight DESC, t.created_at, t.id
              LIMIT $2`,
            [projectId, size],
            'loom_relay_ready_head',
          )
        ).map((row) => withoutToken(toTask(row))),
      tasks: async (projectId, taskIds) =>
        taskIds.length === 0
          ? []
          : (await q(`SELECT ${TASK_COLUMNS} FROM tasks t WHERE t.project_id = $1 AND t.id = ANY($2::text[])`, [projectId, [...taskIds]], 'loom_relay_tasks')).map(
              (row) => withoutToken(toTask(row)),
            ),
    };
  }

  async readyHeadNow(name: string, projectId: string, size: number): Promise<{ position: RelayPosition; tasks: Task[] }> {
    // One snapshot for both reads: the head is at least as new as the cursor says.
    return inSnapshot(this.pool, async (client) => {
      const cursor = await client.query('SELECT tx_id::text AS tx, event_id::text AS id FROM relay_cursors WHERE name = $1', [name]);
      const tasks = await this.reader(client, '').readyHead(projectId, size);
      return { position: (cursor.rows[0] as RelayPosition | undefined) ?? { tx: '0', id: '0' }, tasks };
    });
  }


  async hasPending(name: string): Promise<boolean> {
    try {
      const r = await this.pool.query({
        name: 'loom_relay_pending',
        // The newest event in relay order (one backward step of events_relay) against the cursor: a join
        // or a row comparison with the cursor as parameters made the planner scan the whole log, every
        // poll (38 ms at 100,000 events, against 0.1 ms this way).
        text: `SELECT COALESCE((SELECT (e.tx_id, e.id) > (c.tx_id, c.event_id) FROM events e ORDER BY e.tx_id DESC, e.id DESC LIMIT 1), false) AS pending
                 FROM relay_cursors c WHERE c.name = $1`,
        values: [name],
      });
      return r.rows[0]?.pending === true;
    } catch (e) {
      throw toLoomError(e);
    }
  }

  async lag(name: string): Promise<RelayLag> {
    try {
      const r = await this.pool.query(
        `SELECT c.tx_id::text AS tx, c.event_id::text AS id, c.relay_id, c.published_at,
                (SELECT count(*)::int FROM events e WHERE (e.tx_id, e.id) > (c.tx_id, c.event_id)) AS pending,
                (SELECT min(e.at) FROM events e WHERE (e.tx_id, e.id) > (c.tx_id, c.event_id)) AS oldest_at
           FROM relay_cursors c WHERE c.name = $1`,
        [name],
      );
      const row = r.rows[0] as Row | undefined;
      if (row === undefined) return { cursor: { tx: '0', id: '0' }, relay_id: '', published_at: new Date(0).toISOString(), pending: 0, oldest_at: null };
      return {
        cursor: { tx: row.tx as string, id: row.id as string },
        relay_id: row.relay_id as string,
        published_at: new Date(row.published_at as string).toISOString(),
        pending: Number(row.pending),
        oldest_at: row.oldest_at === null ? null : new Date(row.oldest_at as string).toISOString(),
      };
    } catch (e) {
      throw toLoomError(e);
    }
  }

  async close(): Promise<void> {
    if (this.ownsPool) await this.pool.end();
  }
}
