import * as yaml from 'js-yaml';
import { LoomError } from '../../domain/errors.js';

/**
 * The file of `loom create --from FILE`: tasks as JSON lines (one object a
 * line), a JSON array, or YAML (a list, or an object with `tasks`). Only the
 * shape is checked here (a list of objects); the API checks each item and
 * names it by position, which `lines` maps back to the file.
 */

/** Largest task file read (the API takes at most 24 MiB of items in one call). */
export const MAX_TASK_FILE_BYTES = 32 * 1024 * 1024;
/** Values a parsed file may hold once YAML aliases are expanded: the items are sent as JSON. */
const MAX_VALUES = 5_000_000;

export interface TaskFile {
  tasks: unknown[];
  /** For JSON lines: the line of each item, to name it in errors. */
  lines?: number[];
}

const bad = (name: string, message: string, hint: string): LoomError =>
  new LoomError('VALIDATION_FAILED', `${name}: ${message}`, { hint: `${hint}. Nothing was written`, details: { file: name } });

type Format = 'jsonl' | 'json' | 'yaml';

function formatOf(name: string, text: string): Format {
  if (/\.(jsonl|ndjson)$/i.test(name)) return 'jsonl';
  if (/\.json$/i.test(name)) return 'json';
  if (/\.ya?ml$/i.test(name)) return 'yaml';
  // stdin or another name: by its first character.
  const first = text.trimStart()[0];
  if (first === '[') return 'json';
  if (first === '{') return 'jsonl';
  return 'yaml';
}

export function parseTaskFile(name: string, text: string): TaskFile {
  const format = formatOf(name, text);
  if (format === 'jsonl') return jsonLines(name, text);
  let doc: unknown;
  try {
    doc = format === 'json' ? JSON.parse(text) : yaml.load(text, { schema: yaml.CORE_SCHEMA });
  } catch (e) {
    throw bad(name, `not valid ${format === 'json' ? 'JSON' : 'YAML'}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`, 'fix the syntax at the place named');
  }
  const tasks = Array.isArray(doc) ? doc : typeof doc === 'object' && doc !== null && Array.isArray((doc as { tasks?: unknown }).tasks) ? (doc as { tasks: unknown[] }).tasks : null;
  if (tasks === null) throw bad(name, 'holds no list of tasks', 'write a list of task objects, or an object whose tasks field is that list');
  checkItems(name, tasks, (i) => `item ${i + 1}`);
  return { tasks };
}

function jsonLines(name: string, text: string): TaskFile {
  const tasks: unknown[] = [];
  const lines: number[] = [];
  text.split('\n').forEach((raw, n) => {
    const line = raw.trim();
    if (line === '') return;
    try {
      tasks.push(JSON.parse(line));
    } catch (e) {
      throw bad(name, `line ${n + 1} is not valid JSON: ${e instanceof Error ? e.message : String(e)}`, 'write one JSON object a line');
    }
    lines.push(n + 1);
  });
  checkItems(name, tasks, (i) => `line ${lines[i]}`);
  return { tasks, lines };
}

/** A list of objects, not too many values once expanded (YAML aliases can repeat one subtree many times). */
function checkItems(name: string, tasks: unknown[], where: (i: number) => string): void {
  if (tasks.length === 0) throw bad(name, 'holds no tasks', 'write at least one task');
  let values = 0;
  tasks.forEach((t, i) => {
    if (typeof t !== 'object' || t === null || Array.isArray(t)) throw bad(name, `${where(i)} is not an object`, 'each task is an object like {"title": "..."}');
    const stack: unknown[] = [t];
    while (stack.length > 0) {
      const v = stack.pop();
      if (++values > MAX_VALUES) throw bad(name, `holds more than ${MAX_VALUES} values once its aliases are expanded`, 'write each task out instead of repeating YAML aliases, or split the file');
      if (typeof v === 'object' && v !== null) for (const x of Array.isArray(v) ? v : Object.values(v)) stack.push(x);
    }
  });
}
