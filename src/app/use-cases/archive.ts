import { createHash } from 'node:crypto';
import { readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import type { Ajv } from 'ajv';
import { newAjv } from '../lazy-ajv.js';
import { LoomError } from '../../domain/errors.js';
import type { NewEvent } from '../../domain/events.js';
import { boundFindings, checkInvariants } from '../../domain/invariants.js';
import { findUnsafeText } from '../../domain/text.js';
import type { JsonObject } from '../../domain/task.js';
import type { ExportResult, ImportResult } from '../../ports/loom-api.js';
import { ARCHIVE_KINDS, type ArchiveKind, type ArchiveRows } from '../../ports/task-store.js';
import type { UseCaseDeps } from './deps.js';

/**
 * `loom export` and `loom import`: a whole project as one JSON Lines file,
 * in the spirit of Beads' JSONL. The first line says what the file is; then
 * one line per row, `{"task": {...}}`, kinds in a fixed order and rows in
 * key order, so exporting an unchanged project gives the same bytes and a
 * change shows in git as the lines of the rows it touched. There is no
 * timestamp of the export itself for the same reason.
 */

/** The format of the file (its first line's `loom_export`). */
export const ARCHIVE_FORMAT = 1;
/** Larger files are refused before they are read: the import holds the whole project in memory. */
export const MAX_ARCHIVE_BYTES = 512 * 1024 * 1024;

export function formatArchive(a: ArchiveRows): string {
  const counts = Object.fromEntries(ARCHIVE_KINDS.map((k) => [k, a.rows[k].length]));
  const lines = [JSON.stringify({ loom_export: ARCHIVE_FORMAT, schema: a.schema, project: a.project, events: a.events, counts })];
  for (const kind of ARCHIVE_KINDS) for (const row of a.rows[kind]) lines.push(JSON.stringify({ [kind]: row }));
  return `${lines.join('\n')}\n`;
}

type Validate = ReturnType<Ajv['compile']>;
/** Compiled on the first import, not when the service loads (the daemon's start, every CLI command). */
let validators: { ajv: Ajv; header: Validate; row: Record<ArchiveKind, Validate> } | undefined;
const HEADER_SCHEMA = {
  type: 'object',
  required: ['loom_export', 'schema', 'project', 'events'],
  additionalProperties: false,
  properties: {
    loom_export: { type: 'integer' },
    schema: { type: 'integer', minimum: 1 },
    project: {
      type: 'object',
      required: ['id', 'name', 'created_at'],
      additionalProperties: false,
      properties: {
        id: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,99}$' },
        name: { type: 'string', minLength: 1, maxLength: 200 },
        created_at: { type: 'string', minLength: 1, maxLength: 64 },
      },
    },
    events: { type: 'boolean' },
    counts: { type: 'object', additionalProperties: { type: 'integer', minimum: 0 } },
  },
};

/** What every row of a kind must have to be read at all; the database's own constraints check the rest. */
const TASK_ID = '^loom-[0-9a-f]{8}$';
const idOf: Record<ArchiveKind, Record<string, unknown>> = {
  task: { id: { type: 'string', pattern: TASK_ID } },
  dep: { task_id: { type: 'string', pattern: TASK_ID }, depends_on: { type: 'string', pattern: TASK_ID } },
  escalation: { id: { type: 'string', pattern: '^esc-[0-9a-f]{12}$' } },
  agent: { agent_id: { type: 'string', minLength: 1, maxLength: 200 } },
  message: { id: { type: 'integer', minimum: 1 } },
  skill_run: { id: { type: 'integer', minimum: 1 } },
  decomposition: { parent_id: { type: 'string', maxLength: 100 }, plan_hash: { type: 'string', minLength: 1, maxLength: 200 } },
  workflow_run: { id: { type: 'integer', minimum: 1 } },
  usage_report: { id: { type: 'integer', minimum: 1 } },
  usage_total: { scope: { type: 'string', maxLength: 100 } },
  budget: { scope: { type: 'string', maxLength: 100 } },
  event: { id: { type: 'integer', minimum: 1 } },
};
function archiveValidators(): NonNullable<typeof validators> {
  if (validators === undefined) {
    const ajv = newAjv({ allErrors: false, strict: true });
    validators = {
      ajv,
      header: ajv.compile(HEADER_SCHEMA),
      row: Object.fromEntries(
        ARCHIVE_KINDS.map((k) => [k, ajv.compile({ type: 'object', required: Object.keys(idOf[k]), properties: idOf[k] })]),
      ) as Record<ArchiveKind, Validate>,
    };
  }
  return validators;
}

const invalid = (message: string, hint: string, details: Record<string, unknown> = {}): LoomError => new LoomError('IMPORT_INVALID', message, { hint, details });
const FIX = 'the file was edited by hand or damaged: fix that line, or export the project again';

/** Reads and checks a file written by `loom export`; every problem names its line. */
export function parseArchive(text: string): ArchiveRows {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines.length === 0) throw invalid('the file is empty', 'give the file `loom export` wrote');
  const parse = (line: string, n: number): unknown => {
    try {
      return JSON.parse(line) as unknown;
    } catch (e) {
      throw invalid(`line ${n}: not JSON (${(e as Error).message})`, FIX, { line: n });
    }
  };
  const header = parse(lines[0]!, 1);
  if (typeof header !== 'object' || header === null || !('loom_export' in header)) {
    throw invalid('line 1 does not say it is a Loom export (no "loom_export")', 'give the file `loom export` wrote; its first line describes the project');
  }
  const { ajv, header: validateHeader, row: validateRow } = archiveValidators();
  if (!validateHeader(header)) throw invalid(`line 1: ${ajv.errorsText(validateHeader.errors, { dataVar: 'header' })}`, FIX, { line: 1 });
  const h = header as { loom_export: number; schema: number; project: ArchiveRows['project']; events: boolean };
  if (h.loom_export !== ARCHIVE_FORMAT) {
    throw invalid(`the file is in export format ${h.loom_export}; this Loom reads format ${ARCHIVE_FORMAT}`, 'import it with the Loom version that wrote it, or a newer one');
  }
  if (Number.isNaN(Date.parse(h.project.created_at))) throw invalid('line 1: project.created_at is not a date', FIX, { line: 1 });
  const unsafeHeader = findUnsafeText(header, 'header');
  if (unsafeHeader !== null) throw invalid(`line 1: ${unsafeHeader}`, FIX, { line: 1 });

  const rows = Object.fromEntries(ARCHIVE_KINDS.map((k) => [k, [] as JsonObject[]])) as Record<ArchiveKind, JsonObject[]>;
  const seen = new Map<string, number>();
  let order = 0;
  for (let i = 1; i < lines.length; i++) {
    const n = i + 1;
    if (lines[i]!.trim() === '') continue;
    const record = parse(lines[i]!, n);
    if (typeof record !== 'object' || record === null || Array.isArray(record)) throw invalid(`line ${n}: not an object`, FIX, { line: n });
    const keys = Object.keys(record);
    const kind = keys[0] as ArchiveKind;
    if (keys.length !== 1 || !ARCHIVE_KINDS.includes(kind)) {
      throw invalid(`line ${n}: a row is one of ${ARCHIVE_KINDS.map((k) => `{"${k}": {...}}`).join(', ')}`, FIX, { line: n });
    }
    const row = (record as Record<string, unknown>)[kind];
    if (typeof row !== 'object' || row === null || Array.isArray(row)) throw invalid(`line ${n}: the ${kind} is not an object`, FIX, { line: n });
    // the same check as every input (NUL, lone surrogates, depth, `__proto__`): what Loom accepted, it imports
    const unsafe = findUnsafeText(row, kind);
    if (unsafe !== null) throw invalid(`line ${n}: ${unsafe}`, FIX, { line: n });
    const validate = validateRow[kind];
    if (!validate(row)) throw invalid(`line ${n}: ${ajv.errorsText(validate.errors, { dataVar: kind })}`, FIX, { line: n });
    // Kinds in the export's order: a row may name only rows written before it (a dependency, its task).
    const rank = ARCHIVE_KINDS.indexOf(kind);
    if (rank < order) throw invalid(`line ${n}: a ${kind} after ${ARCHIVE_KINDS[order]} rows; the kinds come in the order ${ARCHIVE_KINDS.join(', ')}`, FIX, { line: n });
    order = rank;
    const key = `${kind}:${JSON.stringify(Object.values(idOf[kind]).length === 1 ? (row as JsonObject)[Object.keys(idOf[kind])[0]!] : Object.keys(idOf[kind]).map((k) => (row as JsonObject)[k]))}`;
    const first = seen.get(key);
    if (first !== undefined) throw invalid(`line ${n}: the same ${kind} as line ${first}`, FIX, { line: n, first_line: first });
    seen.set(key, n);
    rows[kind].push(row as JsonObject);
  }
  if (!h.events && rows.event.length > 0) throw invalid('the header says the file has no events, but it has event rows', FIX);
  return { schema: h.schema, project: h.project, events: h.events, rows };
}

const countsOf = (a: ArchiveRows): Record<ArchiveKind, number> => Object.fromEntries(ARCHIVE_KINDS.map((k) => [k, a.rows[k].length])) as Record<ArchiveKind, number>;

export async function exportProject(d: UseCaseDeps, input: { project_id: string; path: string; events?: boolean }): Promise<ExportResult> {
  const archive = await d.store.exportArchive(input.project_id, { events: input.events === true });
  const text = formatArchive(archive);
  // Written whole or not at all: a reader never sees half a project.
  const tmp = `${input.path}.${process.pid}.${Date.now()}.tmp`;
  try {
    writeFileSync(tmp, text, { mode: 0o600 });
    renameSync(tmp, input.path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // not written
    }
    throw new LoomError('VALIDATION_FAILED', `cannot write ${input.path}: ${(e as Error).message}`, {
      hint: 'choose a path in a directory that exists and that you may write to',
      details: { path: input.path, errno: (e as NodeJS.ErrnoException).code ?? null },
    });
  }
  return {
    project_id: archive.project.id,
    path: input.path,
    bytes: Buffer.byteLength(text),
    sha256: createHash('sha256').update(text).digest('hex'),
    schema: archive.schema,
    events: archive.events,
    counts: countsOf(archive),
  };
}

export async function importProject(d: UseCaseDeps, input: { path: string }): Promise<ImportResult> {
  const archive = parseArchive(readArchiveFile(input.path));
  const now = d.clock.now();
  const projectId = archive.project.id;
  const events = await d.store.transaction(async (tx) => {
    await tx.importArchive(archive);
    // Every change is an event: without the log, one per task records the status it arrived with
    // (so `loom fsck` finds a status event for each); either way one for the import itself.
    const written: NewEvent[] = archive.events
      ? []
      : archive.rows.task.map((t) => ({ type: 'task.imported', task_id: String(t.id), agent_id: null, payload: { status: t.status as string } }));
    written.push({ type: 'project.imported', task_id: null, agent_id: null, payload: { counts: countsOf(archive), events: archive.events, schema: archive.schema } });
    const appended = await tx.appendEvents(projectId, written, now);
    const report = checkInvariants(await tx.invariantSnapshot(projectId), now);
    if (report.violations.length > 0) {
      const findings = boundFindings(report.violations, 5);
      throw new LoomError('IMPORT_INVALID', `the imported graph breaks ${report.violations.length} invariant(s), so nothing was imported: ${findings.map((f) => f.message).join('; ')}`, {
        hint: 'if the file was edited by hand, undo the edit; if it came straight from `loom export`, run `loom fsck --repair` where it came from and export again',
        details: { violations: findings },
      });
    }
    return appended;
  });
  d.bus.publish(events);
  return { project_id: projectId, project_name: archive.project.name, path: input.path, schema: archive.schema, events: archive.events, counts: countsOf(archive), events_written: events.length };
}

function readArchiveFile(path: string): string {
  const unreadable = (e: unknown): LoomError =>
    new LoomError('VALIDATION_FAILED', `cannot read ${path}: ${(e as Error).message}`, {
      hint: 'give the path of a file `loom export` wrote',
      details: { path, errno: (e as NodeJS.ErrnoException).code ?? null },
    });
  let stat;
  try {
    stat = statSync(path);
  } catch (e) {
    throw unreadable(e);
  }
  if (!stat.isFile()) throw unreadable(new Error('not a regular file'));
  if (stat.size > MAX_ARCHIVE_BYTES) {
    throw invalid(`${path} is ${stat.size} bytes, over the ${MAX_ARCHIVE_BYTES / (1024 * 1024)} MiB an import reads`, 'export without --events (the event log is most of a large file)', { bytes: stat.size });
  }
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw unreadable(e);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(buf);
  } catch {
    throw invalid(`${path} is not UTF-8 text`, 'give the file `loom export` wrote, unconverted');
  }
}
