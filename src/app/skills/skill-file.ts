import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { newAjv } from '../lazy-ajv.js';
import * as yaml from 'js-yaml';
import type { Liquid, Template } from 'liquidjs';
import type { SkillFile } from '../../ports/skill-source.js';
import { ARGUMENT_NAME_PATTERN, SKILL_NAME_PATTERN, SKILL_REF_PATTERN } from './skill-patterns.js';

/**
 * A skill file: YAML front matter (validated with ajv) and a liquid body
 * (sandboxed: no JavaScript, no file access). Every problem is reported with
 * the file, its line and the reason; a broken file is skipped by the registry.
 */

export const MAX_SKILL_FILE_BYTES = 256 * 1024;
export { ARGUMENT_NAME_PATTERN, SKILL_NAME_PATTERN, SKILL_REF_PATTERN };
/** Variables every render provides; an argument may not take these names. */
export const RESERVED_VARIABLES = ['task', 'dependencies', 'epic', 'project', 'graph', 'task_id'] as const;

export interface SkillArgument {
  name: string;
  description?: string;
  required: boolean;
  default?: string;
}

export interface Skill {
  /** The full name: `<namespace>/<name>` for plugin skills. */
  name: string;
  description: string;
  version: string;
  arguments: SkillArgument[];
  tags: string[];
  suggested_for: string[];
  source: string;
  path: string;
  /** sha256 of the file's text: which exact template a run used. */
  content_hash: string;
  body: string;
  templates: Template[];
}

export interface SkillProblem {
  file: string;
  line: number;
  reason: string;
}

const argumentSchema = {
  type: 'object',
  properties: {
    name: { type: 'string', pattern: ARGUMENT_NAME_PATTERN },
    description: { type: 'string', maxLength: 1000 },
    required: { type: 'boolean' },
    default: { type: 'string', maxLength: 10000 },
  },
  required: ['name'],
  additionalProperties: false,
} as const;

export const FRONT_MATTER_SCHEMA = {
  type: 'object',
  properties: {
    name: { type: 'string', pattern: SKILL_NAME_PATTERN },
    description: { type: 'string', minLength: 1, maxLength: 300, pattern: '^[^\\n]*$' },
    version: { type: 'string', pattern: '^\\d+\\.\\d+\\.\\d+(-[0-9A-Za-z.-]+)?(\\+[0-9A-Za-z.-]+)?$' },
    arguments: { type: 'array', items: argumentSchema, maxItems: 50 },
    tags: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 100 }, maxItems: 50 },
    suggested_for: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 100 }, maxItems: 50 },
  },
  required: ['name', 'description', 'version'],
  additionalProperties: false,
} as const;

let validateFrontMatter: ValidateFunction | undefined;

let engine: Liquid | undefined;

/**
 * One liquid engine for every skill: own properties only, unknown filters refused, no file access, bounded work.
 * Made on first use: liquidjs takes ~0.1 s to load, on the start of the daemon and of `loom mcp` otherwise.
 */
export const liquid: Liquid = new Proxy({} as Liquid, {
  get(_target, prop) {
    engine ??= new (createRequire(import.meta.url)('liquidjs') as typeof import('liquidjs')).Liquid({
      ownPropertyOnly: true,
      strictFilters: true,
      strictVariables: false,
      templates: {}, // include/render/layout find nothing: a skill never reads a file
      parseLimit: 1_000_000,
      renderLimit: 2_000,
      memoryLimit: 50_000_000,
    });
    const value: unknown = Reflect.get(engine, prop, engine);
    return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(engine) : value;
  },
});

export type ParsedSkill = { ok: true; skill: Skill } | { ok: false; problem: SkillProblem };

const fail = (file: string, line: number, reason: string): ParsedSkill => ({ ok: false, problem: { file, line, reason } });

/** The line of a top-level front-matter key (1-based in the file), or the first front-matter line. */
function keyLine(frontLines: string[], key: string | undefined): number {
  if (key !== undefined) {
    const i = frontLines.findIndex((l) => l.startsWith(`${key}:`));
    if (i >= 0) return i + 2;
  }
  return 2;
}

function describe(e: ErrorObject): { key: string | undefined; reason: string } {
  const parts = e.instancePath.split('/').slice(1);
  const where = parts.length === 0 ? 'front matter' : parts.join('.');
  const key = parts[0];
  if (e.keyword === 'additionalProperties') {
    const field = String(e.params.additionalProperty);
    return { key: parts.length === 0 ? field : key, reason: `${where}: unknown field "${field}"` };
  }
  if (e.keyword === 'required') return { key, reason: `${where}: missing required field "${String(e.params.missingProperty)}"` };
  if (e.keyword === 'pattern' && where === 'name') return { key, reason: 'name: must match [a-z][a-z0-9_-]* (at most 64 characters)' };
  if (e.keyword === 'pattern' && where === 'version') return { key, reason: 'version: must be a semver string like 1.0.0' };
  if (e.keyword === 'pattern' && where === 'description') return { key, reason: 'description: must be one line' };
  if (e.keyword === 'pattern' && /^arguments\.\d+\.name$/.test(where)) return { key, reason: `${where}: must match [a-z][a-z0-9_]*` };
  return { key, reason: `${where}: ${e.message ?? 'is invalid'}` };
}

/** Position of a liquidjs error: [line, column] in the body. */
function liquidLine(e: unknown): number {
  const token = (e as { token?: { getPosition?: () => [number, number] } }).token;
  const pos = token?.getPosition?.();
  return pos?.[0] ?? 1;
}

/** liquidjs appends ", line:N, col:M" (body positions): the report names the file line instead. */
export const liquidReason = (e: unknown): string =>
  String((e as Error)?.message ?? e)
    .replace(/, line:\d+, col:\d+$/, '')
    .split('\n')[0]!;

/** A source file's text (no byte-order mark), or why it is not one: over the size limit, or binary. */
export function fileText(file: SkillFile, kind: string, maxBytes: number): { ok: true; text: string } | { ok: false; problem: SkillProblem } {
  const size = file.size ?? Buffer.byteLength(file.text, 'utf8');
  if (size > maxBytes) return { ok: false, problem: { file: file.path, line: 1, reason: `the file is ${size} bytes; a ${kind} file may have at most ${maxBytes}` } };
  const text = file.text.replace(/^\uFEFF/, '');
  if (text.includes('\u0000')) return { ok: false, problem: { file: file.path, line: 1, reason: `the file contains a NUL character: a ${kind} is text` } };
  return { ok: true, text };
}

export function parseSkillFile(file: SkillFile, namespace?: string): ParsedSkill {
  const where = file.path;
  const read = fileText(file, 'skill', MAX_SKILL_FILE_BYTES);
  if (!read.ok) return read;
  const text = read.text;
  const lines = text.split(/\r?\n/);
  if (lines[0]?.trim() !== '---') return fail(where, 1, 'a skill file starts with a line `---`, then YAML front matter, then `---` and the body');
  const close = lines.findIndex((l, i) => i > 0 && l.trim() === '---');
  if (close < 0) return fail(where, 1, 'the front matter is never closed: add a line `---` after it');
  const frontLines = lines.slice(1, close);

  let front: unknown;
  try {
    front = yaml.load(frontLines.join('\n'), { schema: yaml.CORE_SCHEMA });
  } catch (e) {
    const mark = (e as { mark?: { line?: number } }).mark;
    const reason = (e as { reason?: string }).reason ?? String(e);
    return fail(where, (mark?.line ?? 0) + 2, `the front matter is not valid YAML: ${reason}`);
  }
  validateFrontMatter ??= newAjv({ allErrors: false, strict: true }).compile(FRONT_MATTER_SCHEMA);
  if (!validateFrontMatter(front)) {
    const e = validateFrontMatter.errors?.[0];
    if (e === undefined) return fail(where, 2, 'the front matter must be a YAML mapping with name, description and version');
    if (e.instancePath === '' && e.keyword === 'type') return fail(where, 2, 'the front matter must be a YAML mapping with name, description and version');
    const d = describe(e);
    return fail(where, keyLine(frontLines, d.key), d.reason);
  }
  const fm = front as {
    name: string;
    description: string;
    version: string;
    arguments?: Array<{ name: string; description?: string; required?: boolean; default?: string }>;
    tags?: string[];
    suggested_for?: string[];
  };
  const args = fm.arguments ?? [];
  const seen = new Set<string>();
  for (const a of args) {
    if ((RESERVED_VARIABLES as readonly string[]).includes(a.name)) {
      return fail(where, keyLine(frontLines, 'arguments'), `argument "${a.name}" takes a reserved name: ${RESERVED_VARIABLES.join(', ')} are given by Loom`);
    }
    if (seen.has(a.name)) return fail(where, keyLine(frontLines, 'arguments'), `argument "${a.name}" is declared twice`);
    seen.add(a.name);
  }

  const bodyStart = close + 2; // the file line of the body's first line
  const body = lines.slice(close + 1).join('\n');
  let templates: Template[];
  try {
    templates = liquid.parse(body);
  } catch (e) {
    return fail(where, bodyStart + liquidLine(e) - 1, `the template does not parse: ${liquidReason(e)}`);
  }
  try {
    const known = new Set<string>([...RESERVED_VARIABLES, ...seen]);
    const globals = liquid.analyzeSync(templates).globals;
    for (const [name, uses] of Object.entries(globals)) {
      if (known.has(name)) continue;
      const row = (uses[0] as { location?: { row?: number } } | undefined)?.location?.row ?? 1;
      return fail(
        where,
        bodyStart + row - 1,
        `the template uses "${name}", which is neither an argument nor one of ${RESERVED_VARIABLES.filter((v) => v !== 'task_id').join(', ')}: declare it under arguments`,
      );
    }
  } catch (e) {
    if (/Failed to lookup/.test(String((e as Error)?.message))) {
      const at = body.split('\n').findIndex((l) => /\{%-?\s*(include|render|layout)\b/.test(l));
      return fail(where, bodyStart + Math.max(at, 0), 'a skill cannot include other files (include, render, layout): put the text in the skill');
    }
    return fail(where, bodyStart + liquidLine(e) - 1, `the template cannot be analysed: ${liquidReason(e)}`);
  }

  return {
    ok: true,
    skill: {
      name: namespace === undefined ? fm.name : `${namespace}/${fm.name}`,
      description: fm.description,
      version: fm.version,
      arguments: args.map((a) => ({
        name: a.name,
        ...(a.description === undefined ? {} : { description: a.description }),
        required: a.required ?? false,
        ...(a.default === undefined ? {} : { default: a.default }),
      })),
      tags: fm.tags ?? [],
      suggested_for: fm.suggested_for ?? [],
      source: file.source,
      path: file.path,
      content_hash: createHash('sha256').update(file.text).digest('hex'),
      body,
      templates,
    },
  };
}
