import type pg from 'pg';
import { LoomError, projectRemoved } from '../../domain/errors.js';
import type { JsonObject } from '../../domain/task.js';
import { ARCHIVE_KINDS, type ArchiveKind, type ArchiveRows } from '../../ports/task-store.js';

/**
 * The SQL of `loom export` and `loom import`: a project's rows as JSON
 * objects of their columns, table by table. Generic over the columns, so a
 * column added by a later migration travels without code here; the import
 * names only the columns a file holds, so one written before that migration
 * gets the column's default.
 */

export type Query = (text: string, params: unknown[]) => Promise<pg.QueryResult>;

interface TableSpec {
  table: string;
  /** FROM and WHERE, $1 being the project id; the table's rows are `r`. */
  source: string;
  order: string;
  /** Columns left out of the archive: the project (the archive's own) and, for events, the writing database's transaction id. */
  omit: readonly string[];
  /** A serial id whose sequence must move past the imported ids. */
  serial?: boolean;
}

const TABLES: Record<ArchiveKind, TableSpec> = {
  task: { table: 'tasks', source: 'tasks r WHERE r.project_id = $1', order: 'r.id', omit: ['project_id'] },
  dep: { table: 'task_deps', source: 'task_deps r JOIN tasks t ON t.id = r.task_id WHERE t.project_id = $1', order: 'r.task_id, r.depends_on', omit: [] },
  escalation: { table: 'escalations', source: 'escalations r WHERE r.project_id = $1', order: 'r.id', omit: ['project_id'] },
  agent: { table: 'agents', source: 'agents r WHERE r.project_id = $1', order: 'r.agent_id', omit: ['project_id'] },
  message: { table: 'messages', source: 'messages r WHERE r.project_id = $1', order: 'r.id', omit: ['project_id'], serial: true },
  skill_run: { table: 'skill_runs', source: 'skill_runs r WHERE r.project_id = $1', order: 'r.id', omit: ['project_id'], serial: true },
  decomposition: { table: 'decompositions', source: 'decompositions r WHERE r.project_id = $1', order: 'r.parent_id, r.plan_hash', omit: ['project_id'] },
  workflow_run: { table: 'workflow_runs', source: 'workflow_runs r WHERE r.project_id = $1', order: 'r.id', omit: ['project_id'], serial: true },
  usage_report: { table: 'usage_reports', source: 'usage_reports r WHERE r.project_id = $1', order: 'r.id', omit: ['project_id'], serial: true },
  usage_total: { table: 'usage_totals', source: 'usage_totals r WHERE r.project_id = $1', order: 'r.scope', omit: ['project_id'] },
  budget: { table: 'budgets', source: 'budgets r WHERE r.project_id = $1', order: 'r.scope', omit: ['project_id'] },
  event: { table: 'events', source: 'events r WHERE r.project_id = $1', order: 'r.id', omit: ['project_id', 'tx_id'], serial: true },
};

/**
 * Reads the archive; the caller runs it in one read-only snapshot. One JSON
 * document per table (the embedded store pays per row returned), rows in key
 * order, timestamps in UTC: the same project gives the same bytes from either store.
 */
export async function readArchive(query: Query, projectId: string, events: boolean): Promise<ArchiveRows | null> {
  await query(`SET LOCAL TIME ZONE 'UTC'`, []);
  const p = await query(`SELECT id, name, to_jsonb(created_at) #>> '{}' AS created_at FROM projects WHERE id = $1`, [projectId]);
  const project = p.rows[0] as { id: string; name: string; created_at: string } | undefined;
  if (project === undefined) return null;
  const v = await query('SELECT coalesce(max(version), 0) AS v FROM loom_migrations', []);
  const rows = {} as Record<ArchiveKind, JsonObject[]>;
  for (const kind of ARCHIVE_KINDS) {
    if (kind === 'event' && !events) {
      rows.event = [];
      continue;
    }
    const t = TABLES[kind];
    const r = await query(`SELECT COALESCE(json_agg(to_jsonb(r) - $2::text[] ORDER BY ${t.order}), '[]')::text AS rows FROM ${t.source}`, [projectId, t.omit]);
    rows[kind] = JSON.parse(r.rows[0].rows as string) as JsonObject[];
  }
  return { schema: Number(v.rows[0].v), project: { id: project.id, name: project.name, created_at: project.created_at }, events, rows };
}

/** Rows per INSERT of a table whose rows do not name each other (tasks go in one statement: a parent may come after its child). */
const CHUNK = 2000;

/** Writes the archive (see TaskStoreTx.importArchive); the caller's transaction makes it all or nothing. */
export async function writeArchive(query: Query, a: ArchiveRows): Promise<void> {
  const projectId = a.project.id;
  const v = await query('SELECT coalesce(max(version), 0) AS v FROM loom_migrations', []);
  if (a.schema > Number(v.rows[0].v)) {
    throw new LoomError('IMPORT_INVALID', `the file was written at schema version ${a.schema}, newer than this store's (${Number(v.rows[0].v)})`, {
      hint: 'upgrade loom-agents (and run `loom migrate`) to import it',
      details: { schema: a.schema, store_schema: Number(v.rows[0].v) },
    });
  }
  await claimProject(query, a);
  await refuseTakenIds(query, 'task', 'tasks', a.rows.task);
  await refuseTakenIds(query, 'escalation', 'escalations', a.rows.escalation);
  const columns = await tableColumns(query);
  for (const kind of ARCHIVE_KINDS) {
    const rows = a.rows[kind];
    if (rows.length === 0) continue;
    const t = TABLES[kind];
    const cols = columnsOf(kind, rows, columns.get(t.table) ?? new Set(), t);
    const list = cols.map((c) => `"${c}"`).join(', ');
    const withProject = t.omit.includes('project_id');
    const size = kind === 'task' ? rows.length : CHUNK;
    for (let i = 0; i < rows.length; i += size) {
      const chunk = rows.slice(i, i + size);
      const sql = withProject
        ? `INSERT INTO ${t.table} (project_id, ${list}) SELECT $1::text, ${list} FROM jsonb_populate_recordset(NULL::${t.table}, $2::jsonb)`
        : `INSERT INTO ${t.table} (${list}) SELECT ${list} FROM jsonb_populate_recordset(NULL::${t.table}, $1::jsonb)`;
      try {
        await query(sql, withProject ? [projectId, JSON.stringify(chunk)] : [JSON.stringify(chunk)]);
      } catch (e) {
        throw rowError(e, kind);
      }
    }
    if (t.serial === true) {
      const max = rows.reduce((m, r) => Math.max(m, Number(r.id)), 0);
      await query(`SELECT setval(pg_get_serial_sequence($1, 'id'), GREATEST(nextval(pg_get_serial_sequence($1, 'id')), $2::bigint))`, [t.table, max]);
      // Imported history is not news: the relay's cursor starts past it (as for events older than the relay).
      if (kind === 'event') await query(`UPDATE relay_cursors SET event_id = GREATEST(event_id, $1::bigint) WHERE tx_id = '0'::xid8`, [max]);
    }
  }
  // The project's own budget, if the file has it exceeded: tasks created from now on are born held.
  await query(`UPDATE projects SET budget_stopped_at = (SELECT exceeded_at FROM budgets WHERE project_id = $1 AND scope = '') WHERE id = $1`, [projectId]);
}

/** The project row: new, or an existing one with nothing in it (what `loom init` made), which the archive's replaces. */
async function claimProject(query: Query, a: ArchiveRows): Promise<void> {
  const { id, name, created_at } = a.project;
  const existing = await query('SELECT id, removed_at FROM projects WHERE id = $1 FOR UPDATE', [id]);
  const removedAt = existing.rows[0]?.removed_at;
  if (removedAt !== undefined && removedAt !== null) throw projectRemoved(id, new Date(removedAt as string).toISOString());
  if (existing.rows.length === 0) {
    try {
      await query('INSERT INTO projects (id, name, created_at) VALUES ($1, $2, $3)', [id, name, created_at]);
    } catch (e) {
      throw rowError(e, 'project');
    }
    return;
  }
  const c = await query(
    `SELECT (SELECT count(*) FROM tasks WHERE project_id = $1)::int AS tasks,
            (SELECT count(*) FROM messages WHERE project_id = $1)::int AS messages,
            (SELECT count(*) FROM workflow_runs WHERE project_id = $1)::int AS workflow_runs,
            (SELECT count(*) FROM skill_runs WHERE project_id = $1)::int AS skill_runs,
            (SELECT count(*) FROM escalations WHERE project_id = $1)::int AS escalations`,
    [id],
  );
  const counts = c.rows[0] as Record<string, number>;
  const held = Object.entries(counts).filter(([, n]) => n > 0);
  if (held.length > 0) {
    throw new LoomError('IMPORT_CONFLICT', `project ${id} already exists in this store and is not empty (${held.map(([k, n]) => `${n} ${k}`).join(', ')})`, {
      hint: 'import into another store (an empty embedded directory, or another database), or export this store\'s copy first: an import never merges into or overwrites existing work',
      details: { project_id: id, ...counts },
    });
  }
  // An empty project: only its own events (project.created) and agents that looked at it; the archive brings its own.
  await query('DELETE FROM events WHERE project_id = $1', [id]);
  await query('DELETE FROM agents WHERE project_id = $1', [id]);
  await query('UPDATE projects SET name = $2, created_at = $3 WHERE id = $1', [id, name, created_at]);
}

async function refuseTakenIds(query: Query, kind: ArchiveKind, table: string, rows: readonly JsonObject[]): Promise<void> {
  if (rows.length === 0) return;
  const ids = rows.map((r) => String(r.id));
  const r = await query(`SELECT id, project_id, count(*) OVER ()::int AS n FROM ${table} WHERE id = ANY($1::text[]) ORDER BY id LIMIT 10`, [ids]);
  if (r.rows.length === 0) return;
  const n = Number(r.rows[0].n);
  const named = r.rows.map((x: { id: string; project_id: string }) => `${x.id} (project ${x.project_id})`);
  throw new LoomError('IMPORT_CONFLICT', `${n} ${kind} id(s) of the file are taken in this store: ${named.join(', ')}${n > named.length ? ', ...' : ''}`, {
    hint: 'ids are kept on import, so the same work cannot be imported twice into one store; import into another store, or remove the file\'s copy there first',
    details: { kind, taken: n, ids: r.rows.map((x: { id: string }) => x.id) },
  });
}

async function tableColumns(query: Query): Promise<Map<string, Set<string>>> {
  const names = Object.values(TABLES).map((t) => t.table);
  const r = await query(
    `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ANY($1::text[])`,
    [names],
  );
  const out = new Map<string, Set<string>>();
  for (const row of r.rows as Array<{ table_name: string; column_name: string }>) {
    if (!out.has(row.table_name)) out.set(row.table_name, new Set());
    out.get(row.table_name)!.add(row.column_name);
  }
  return out;
}

/** The columns the rows name (every key must be a column this store has, and not one the archive leaves out). */
function columnsOf(kind: ArchiveKind, rows: readonly JsonObject[], known: ReadonlySet<string>, t: TableSpec): string[] {
  const cols = new Set<string>();
  for (const row of rows) for (const k of Object.keys(row)) cols.add(k);
  const unknown = [...cols].filter((c) => !known.has(c) || t.omit.includes(c));
  if (unknown.length > 0) {
    throw new LoomError('IMPORT_INVALID', `${kind} rows have field(s) this store does not know: ${unknown.slice(0, 5).join(', ')}`, {
      hint: 'the file was written by a newer Loom (upgrade this one) or edited by hand (remove those fields)',
      details: { kind, fields: unknown.slice(0, 20) },
    });
  }
  return [...cols];
}

/** A row the database refused: the file does not fit the schema (or names what is taken). */
function rowError(e: unknown, kind: string): unknown {
  if (LoomError.is(e)) return e;
  const code = String((e as { code?: unknown })?.code ?? '');
  const message = e instanceof Error ? e.message : String(e);
  if (code === '23505') {
    return new LoomError('IMPORT_CONFLICT', `a ${kind} row of the file is already in this store (${message})`, {
      hint: 'ids are kept on import: import into another store, or remove the existing copy first',
      cause: e,
      details: { kind, driver_code: code },
    });
  }
  if (code.startsWith('22') || code.startsWith('23') || code === '42804') {
    // data exceptions (bad text, a number out of range, a date that is not one) and integrity
    // violations (a missing field, a status the schema does not allow, a row naming a missing task)
    return new LoomError('IMPORT_INVALID', `a ${kind} row of the file does not fit the schema: ${message}`, {
      hint: 'the file was edited by hand or damaged: fix the row the message names, or export the project again',
      cause: e,
      details: { kind, driver_code: code },
    });
  }
  return e; // the store's own mapping (unavailable, conflicts) applies
}
