import { realpathSync, statSync } from 'node:fs';
import { basename, isAbsolute, relative, resolve, sep } from 'node:path';
import { createRequire } from 'node:module';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { newAjv } from './lazy-ajv.js';
import type { PluginProblem } from '../../ports/loom-connector.js';
import { PLUGIN_API_VERSION } from '../api-version.js';

/**
 * semver's two functions, loaded when a manifest is first checked (~30 ms with
 * what they need, on the embedded daemon's start otherwise, plugins or not);
 * not the whole package, whose index loads every module.
 */
let semverFns: { satisfies: typeof import('semver/functions/satisfies.js'); validRange: typeof import('semver/ranges/valid.js') } | undefined;
function semver(): NonNullable<typeof semverFns> {
  if (semverFns === undefined) {
    const require = createRequire(import.meta.url);
    semverFns = { satisfies: require('semver/functions/satisfies.js'), validRange: require('semver/ranges/valid.js') };
  }
  return semverFns;
}

/** The package.json keyword that marks a Loom plugin. */
export const PLUGIN_KEYWORD = 'loom-plugin';
/** A plugin id: its namespace (`<id>/<skill>`), as the skill and workflow name patterns allow. */
export const PLUGIN_ID_PATTERN = '^[a-z][a-z0-9-]{0,63}$';

/** The `loom` field of a plugin's package.json. */
export interface PluginManifest {
  /** A semver range of the plugin API, e.g. `^1.0.0`. */
  apiVersion: string;
  /** The namespace; default: the package name without scope and without `loom-plugin-`. */
  id?: string;
  /** Folders (relative to the package) of skill files (`*.md`) and workflow files (`*.yaml`). */
  skills?: string;
  workflows?: string;
  /** The ESM code entry (loaded only for trusted plugins). */
  main?: string;
}

const relativePath = { type: 'string', minLength: 1, maxLength: 1024 } as const;
const MANIFEST_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['apiVersion'],
  properties: {
    apiVersion: { type: 'string', minLength: 1, maxLength: 200 },
    id: { type: 'string', pattern: PLUGIN_ID_PATTERN },
    skills: relativePath,
    workflows: relativePath,
    main: relativePath,
  },
} as const;

let compiled: ValidateFunction<PluginManifest> | undefined;
// validateSchema off: checking this fixed schema against the JSON Schema meta-schema would compile
// the meta-schema first, ~15 ms of a cold start (the unit tests compile it in strict mode anyway).
const validator = (): ValidateFunction<PluginManifest> =>
  (compiled ??= newAjv({ allErrors: true, strict: true, validateSchema: false }).compile<PluginManifest>(MANIFEST_SCHEMA));

/** What the package.json of one package says about it as a plugin, every field checked. */
export interface CheckedPlugin {
  /** It has the `loom-plugin` keyword (nothing else is looked at otherwise). */
  is_plugin: boolean;
  package: string;
  version: string;
  id: string;
  api_version: string | null;
  api_fits: boolean;
  skills: string | null;
  workflows: string | null;
  main: string | null;
  errors: PluginProblem[];
}

/** The id a package gets when its manifest names none: `@acme/loom-plugin-review` -> `review`. */
export function defaultPluginId(packageName: string): string {
  const bare = packageName.replace(/^@[^/]+\//, '');
  return bare.startsWith('loom-plugin-') ? bare.slice('loom-plugin-'.length) : bare;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Whether a parsed package.json has the `loom-plugin` keyword. */
export function hasPluginKeyword(pkg: unknown): boolean {
  return isRecord(pkg) && Array.isArray(pkg.keywords) && pkg.keywords.includes(PLUGIN_KEYWORD);
}

/**
 * Checks the `loom` field of the package in `dir` (its parsed package.json
 * given): the schema, the id, the API range against `hostApi`, and every
 * path (inside the package, existing). Reads the disk only for the paths.
 */
export function checkPluginPackage(dir: string, pkg: unknown, hostApi: string = PLUGIN_API_VERSION): CheckedPlugin {
  const p = isRecord(pkg) ? pkg : {};
  const name = typeof p.name === 'string' && p.name !== '' ? p.name : basename(dir);
  const version = typeof p.version === 'string' ? p.version : '0.0.0';
  const out: CheckedPlugin = {
    is_plugin: hasPluginKeyword(pkg),
    package: name,
    version,
    id: defaultPluginId(name),
    api_version: null,
    api_fits: false,
    skills: null,
    workflows: null,
    main: null,
    errors: [],
  };
  const problem = (code: string, field: string | undefined, message: string, hint: string): void => {
    out.errors.push({ package: name, id: out.id, ...(field === undefined ? {} : { field }), code, message: `${name}: ${message}`, hint, severity: 'error' });
  };
  if (!out.is_plugin) return out;
  const manifest = p.loom;
  if (manifest === undefined) {
    problem('PLUGIN_NO_MANIFEST', 'loom', `has the keyword "${PLUGIN_KEYWORD}" but no "loom" field in its package.json`, 'add `"loom": { "apiVersion": "^1.0.0", "skills": "skills" }` to its package.json, or drop the keyword');
    return out;
  }
  const validate = validator();
  if (!validate(manifest)) {
    for (const e of validate.errors ?? []) problem('PLUGIN_MANIFEST_INVALID', fieldOf(e), describe(e), 'fix the field named above in the package.json `loom` field (keys: apiVersion, id, skills, workflows, main)');
    // What can still be read helps the listing (the id above all).
    if (isRecord(manifest) && typeof manifest.id === 'string' && new RegExp(PLUGIN_ID_PATTERN).test(manifest.id)) out.id = manifest.id;
    if (isRecord(manifest) && typeof manifest.apiVersion === 'string') out.api_version = manifest.apiVersion;
    return out;
  }
  if (manifest.id !== undefined) out.id = manifest.id;
  else if (!new RegExp(PLUGIN_ID_PATTERN).test(out.id)) {
    problem('PLUGIN_MANIFEST_INVALID', 'loom.id', `loom.id is not set and "${out.id}", taken from the package name, is not a valid id (${PLUGIN_ID_PATTERN})`, 'set `loom.id` to lower-case letters, digits and dashes, starting with a letter');
  }
  out.api_version = manifest.apiVersion;
  const { satisfies, validRange } = semver();
  if (validRange(manifest.apiVersion) === null) {
    problem('PLUGIN_MANIFEST_INVALID', 'loom.apiVersion', `loom.apiVersion "${manifest.apiVersion}" is not a semver range`, 'write a range such as "^1.0.0"');
  } else {
    out.api_fits = satisfies(hostApi, manifest.apiVersion);
    if (!out.api_fits) {
      problem('PLUGIN_API_MISMATCH', 'loom.apiVersion', `loom.apiVersion ${manifest.apiVersion} does not admit this Loom's plugin API ${hostApi}`, `install a version of the plugin made for plugin API ${hostApi}, or a Loom that fits ${manifest.apiVersion}`);
    }
  }
  let root: string | undefined;
  for (const field of ['skills', 'workflows', 'main'] as const) {
    const value = manifest[field];
    if (value === undefined) continue;
    root ??= realpathSync(dir);
    const checked = insidePackage(root, value, field === 'main' ? 'file' : 'directory');
    if (typeof checked === 'string') out[field] = checked;
    else problem(checked.code, `loom.${field}`, `loom.${field} "${value}" ${checked.message}`, checked.hint);
  }
  return out;
}

/** `value` resolved in the package `root` (a real path): inside it (symlinks followed) and existing as `kind`. */
function insidePackage(root: string, value: string, kind: 'file' | 'directory'): string | { code: string; message: string; hint: string } {
  const escape = { code: 'PLUGIN_PATH_ESCAPE', message: 'leaves the package', hint: 'use a path relative to the package folder, without `..`' };
  if (isAbsolute(value) || /^[a-zA-Z]:[\\/]/.test(value) || value.startsWith('\\')) {
    return { ...escape, message: 'is an absolute path' };
  }
  const full = resolve(root, value);
  if (!within(root, full)) return escape;
  let real: string;
  try {
    real = realpathSync(full);
  } catch {
    return { code: 'PLUGIN_PATH_MISSING', message: `does not exist (${full})`, hint: `create the ${kind}, or remove the field` };
  }
  if (!within(root, real)) return { ...escape, message: `leaves the package through a link (${real})` };
  const isDir = statSync(real).isDirectory();
  if (isDir !== (kind === 'directory')) return { code: 'PLUGIN_PATH_MISSING', message: `is not a ${kind} (${full})`, hint: `point it at a ${kind}` };
  return real;
}

function within(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

function fieldOf(e: ErrorObject): string {
  if (e.keyword === 'additionalProperties') return `loom.${String((e.params as { additionalProperty: string }).additionalProperty)}`;
  if (e.keyword === 'required') return `loom.${String((e.params as { missingProperty: string }).missingProperty)}`;
  const path = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
  return path === '' ? 'loom' : `loom.${path}`;
}

function describe(e: ErrorObject): string {
  const field = fieldOf(e);
  if (e.keyword === 'additionalProperties') return `${field} is not a known field`;
  if (e.keyword === 'required') return `${field} is required`;
  return `${field} ${e.message ?? 'is invalid'}`;
}
