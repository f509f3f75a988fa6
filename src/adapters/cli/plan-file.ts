import { stat, readFile } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import * as yaml from 'js-yaml';
import { LoomError } from '../../domain/errors.js';
import type { JsonObject } from '../../domain/task.js';

/*
 * `loom decompose --plan FILE`: a plan written to a file (by an agent without
 * MCP, or by hand), read and parsed here. The parsing is pure; only
 * readPlanFile touches the file system. What the plan says is the API's to
 * check: this only makes sure it is one JSON or YAML mapping of sane size.
 */

/** Largest plan file read. A plan of 2,000 tasks with contexts fits in far less. */
export const MAX_PLAN_FILE_BYTES = 4 * 1024 * 1024;
/** Largest plan once YAML aliases are expanded (each alias repeats what its anchor names). */
export const MAX_EXPANDED_PLAN_BYTES = 4 * MAX_PLAN_FILE_BYTES;

export type PlanFormat = 'json' | 'yaml' | 'auto';

const NOTHING_WRITTEN = 'Nothing was written';

/** By extension: .json is JSON, .yaml and .yml are YAML, anything else is tried as JSON, then as YAML. */
export function planFormat(file: string): PlanFormat {
  const ext = extname(file).toLowerCase();
  return ext === '.json' ? 'json' : ext === '.yaml' || ext === '.yml' ? 'yaml' : 'auto';
}

interface Problem {
  format: 'JSON' | 'YAML';
  reason: string;
  /** 1-based, when the parser said where. */
  line?: number;
  column?: number;
}

/** 1-based line and column of a 0-based offset into `text`. */
export function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length)));
  const lines = before.split('\n');
  return { line: lines.length, column: (lines.at(-1)?.length ?? 0) + 1 };
}

/**
 * Offset of the first syntax error in JSON `text` (which JSON.parse refused),
 * for the Node versions whose message gives no position.
 */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const literal = (word: string) => {
    for (const c of word) {
      if (text[i] !== c) fail();
      i++;
    }
  };
  const string = () => {
    if (text[i] !== '"') fail();
    i++;
    while (i < text.length && text[i] !== '"') {
      if (text.charCodeAt(i) < 0x20) fail();
      if (text[i] === '\\') {
        i++;
        if (text[i] === 'u') {
          for (let k = 0; k < 4; k++) if (!/[0-9a-fA-F]/.test(text[++i] ?? '')) fail();
        } else if (!'"\\/bfnrt'.includes(text[i] ?? 'x')) fail();
      }
      i++;
    }
    if (i >= text.length) fail();
    i++;
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') return void i++;
      for (;;) {
        ws();
        string();
        ws();
        if (text[i] !== ':') fail();
        i++;
        value();
        ws();
        if (text[i] === '}') return void i++;
        if (text[i] !== ',') fail();
        i++;
      }
    } else if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') return void i++;
      for (;;) {
        value();
        ws();
        if (text[i] === ']') return void i++;
        if (text[i] !== ',') fail();
        i++;
      }
    } else if (c === '"') string();
    else if (c === 't') literal('true');
    else if (c === 'f') literal('false');
    else if (c === 'n') literal('null');
    else {
      const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
      if (m === null) fail();
      i += m![0].length;
    }
  };
  try {
    value();
    ws();
    if (i < text.length) fail();
  } catch (at) {
    if (typeof at === 'number') return Math.min(at, text.length);
    throw at;
  }
  return text.length;
}

function jsonProblem(text: string, error: unknown): Problem {
  const message = error instanceof Error ? error.message : String(error);
  // V8 says "Unexpected token ']', "…the text…" is not valid JSON" or "… in JSON at position 16" (newer: "(line 3 column 5)").
  const reason = message
    .replace(/\s*\(line \d+ column \d+\)\s*$/, '')
    .replace(/ in JSON at position \d+$/, '')
    .replace(/, (\.\.\.)?"[\s\S]*" is not valid JSON$/, '');
  const at = /at position (\d+)/.exec(message);
  return { format: 'JSON', reason, ...lineAndColumn(text, at !== null ? Number(at[1]) : jsonErrorOffset(text)) };
}

function yamlProblem(error: unknown): Problem {
  if (error instanceof yaml.YAMLException) {
    const mark = error.mark;
    return {
      format: 'YAML',
      reason: error.reason,
      ...(mark === undefined ? {} : { line: mark.line + 1, column: mark.column + 1 }),
    };
  }
  return { format: 'YAML', reason: error instanceof Error ? error.message : String(error) };
}

function parseError(file: string, problem: Problem): LoomError {
  const where = problem.line === undefined ? '' : ` at line ${problem.line}${problem.column === undefined ? '' : `, column ${problem.column}`}`;
  return new LoomError('VALIDATION_FAILED', `--plan ${file} is not valid ${problem.format}${where}: ${problem.reason}`, {
    hint: `fix the file and run again: it holds one plan, a mapping with title and tasks (written as ${problem.format === 'JSON' ? 'JSON, or as YAML in a .yaml file' : 'YAML, or as JSON in a .json file'}). ${NOTHING_WRITTEN}`,
    details: {
      file,
      format: problem.format.toLowerCase(),
      reason: problem.reason,
      ...(problem.line === undefined ? {} : { line: problem.line }),
      ...(problem.column === undefined ? {} : { column: problem.column }),
    },
  });
}

const describe = (value: unknown): string =>
  value === null || value === undefined ? 'nothing' : Array.isArray(value) ? 'a list' : `a ${typeof value}`;

/**
 * Estimated size of `value` as JSON, counted up to `budget` (then it stops):
 * YAML aliases can make a small file a huge document, which must not be sent
 * to the daemon or walked by the API.
 */
export function expandedSize(value: unknown, budget: number): number {
  let size = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0 && size <= budget) {
    const v = stack.pop();
    if (typeof v === 'string') size += v.length + 2;
    else if (Array.isArray(v)) {
      size += 2 + v.length;
      for (const item of v) stack.push(item);
    } else if (typeof v === 'object' && v !== null) {
      for (const [k, item] of Object.entries(v)) {
        size += k.length + 4;
        stack.push(item);
      }
      size += 2;
    } else size += String(v).length;
  }
  return size;
}

/**
 * The plan in `text`, read from `file` (named in errors): JSON or YAML as
 * planFormat says. YAML is read with js-yaml's default schema (the YAML 1.2
 * core schema: no custom tags, no code). Throws VALIDATION_FAILED with the
 * file, the line and the parser's reason; and for a document that is not a
 * mapping, or that YAML aliases blow up past MAX_EXPANDED_PLAN_BYTES.
 */
export function parsePlanText(text: string, file: string, format: PlanFormat = planFormat(file)): JsonObject {
  const source = text.startsWith('\uFEFF') ? text.slice(1) : text;
  if (source.trim() === '') {
    throw new LoomError('VALIDATION_FAILED', `--plan ${file} is empty`, {
      hint: `write the plan to the file first (a mapping with title and tasks, as JSON or YAML). ${NOTHING_WRITTEN}`,
      details: { file },
    });
  }
  let value: unknown;
  if (format === 'json') {
    try {
      value = JSON.parse(source);
    } catch (error) {
      throw parseError(file, jsonProblem(source, error));
    }
  } else {
    let jsonError: unknown;
    let parsed = false;
    if (format === 'auto') {
      try {
        value = JSON.parse(source);
        parsed = true;
      } catch (error) {
        jsonError = error;
      }
    }
    if (!parsed) {
      try {
        value = yaml.load(source, { filename: file });
      } catch (error) {
        // A file that looks like JSON is better told what is wrong with it as JSON.
        const looksJson = /^\s*[{[]/.test(source);
        throw parseError(file, format === 'auto' && looksJson ? jsonProblem(source, jsonError) : yamlProblem(error));
      }
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new LoomError('VALIDATION_FAILED', `--plan ${file} holds ${describe(value)}, not a plan: a plan is a mapping with title and tasks`, {
      hint: `write the plan as one mapping, e.g. {"title": "Search", "tasks": [{"key": "spec", "title": "Write the spec"}]}. ${NOTHING_WRITTEN}`,
      details: { file, got: Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value },
    });
  }
  if (expandedSize(value, MAX_EXPANDED_PLAN_BYTES) > MAX_EXPANDED_PLAN_BYTES) {
    throw new LoomError('VALIDATION_FAILED', `--plan ${file} expands to more than ${MAX_EXPANDED_PLAN_BYTES / (1024 * 1024)} MiB (YAML aliases repeat what their anchor names)`, {
      hint: `write the plan out without nested aliases; a plan needs far less. ${NOTHING_WRITTEN}`,
      details: { file, limit_bytes: MAX_EXPANDED_PLAN_BYTES },
    });
  }
  return value as JsonObject;
}

/** Reads and parses the plan file at `file` (relative to `cwd`): a regular file of at most MAX_PLAN_FILE_BYTES. */
export async function readPlanFile(file: string, cwd: string): Promise<JsonObject> {
  const path = resolve(cwd, file);
  const unreadable = (why: string, hint: string) =>
    new LoomError('VALIDATION_FAILED', `--plan ${file} ${why}`, { hint: `${hint}. ${NOTHING_WRITTEN}`, details: { file, path } });
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw unreadable('is not a file', 'give the path of the plan file (JSON or YAML)');
    size = info.size;
  } catch (error) {
    if (LoomError.is(error)) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw unreadable('does not exist', 'write the plan there first, or check the path (relative to the current directory)');
    }
    throw unreadable(`cannot be read: ${(error as Error).message}`, 'check the path and its permissions');
  }
  if (size > MAX_PLAN_FILE_BYTES) {
    throw new LoomError('VALIDATION_FAILED', `--plan ${file} is ${size} bytes; a plan file is at most ${MAX_PLAN_FILE_BYTES} (4 MiB)`, {
      hint: `split the work into epics and decompose one at a time (--epic ID); keep large material in files the tasks name. ${NOTHING_WRITTEN}`,
      details: { file, bytes: size, limit_bytes: MAX_PLAN_FILE_BYTES },
    });
  }
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw unreadable(`cannot be read: ${(error as Error).message}`, 'check the path and its permissions');
  }
  return parsePlanText(text, file);
}
