import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { isMap, isScalar, isSeq, parseDocument, type Document } from 'yaml';
import { LoomError } from '../domain/errors.js';
import { PLUGIN_ID_PATTERN } from '../plugins/host/manifest.js';
import { userConfigPath } from './project-dir.js';

export { userConfigPath };

/** A plugin id as config `plugins.trust` and the manifest accept it; anything else is refused before a file is touched. */
export function checkPluginId(id: string): void {
  if (typeof id !== 'string' || !new RegExp(PLUGIN_ID_PATTERN).test(id)) {
    throw new LoomError('VALIDATION_FAILED', `${JSON.stringify(String(id).slice(0, 80))} is not a plugin id`, {
      hint: 'a plugin id matches [a-z][a-z0-9-]* (at most 64 characters), as `loom plugins list` shows it',
      details: { id: String(id).slice(0, 200) },
    });
  }
}

/**
 * The config file parsed as a YAML document (comments and layout kept), or a
 * new empty one when the file does not exist. Not YAML, or not a mapping at
 * the top: CONFIG_INVALID naming the file.
 */
function readDocument(path: string): Document {
  const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
  const doc = parseDocument(text);
  const invalid = (why: string) =>
    new LoomError('CONFIG_INVALID', `${path} is not valid YAML: ${why}`, {
      hint: 'fix the file by hand first; nothing was written',
      details: { file: path },
    });
  if (doc.errors.length > 0) throw invalid(doc.errors[0]!.message.split('\n')[0]!);
  if (doc.contents !== null && !isMap(doc.contents)) throw invalid('the top level must be a mapping of keys (project:, plugins:, ...)');
  const plugins = doc.get('plugins', true);
  if (plugins !== undefined && !(isScalar(plugins) && plugins.value === null) && !isMap(plugins)) throw invalid('`plugins` must be a mapping (paths:, trust:)');
  const trust = doc.getIn(['plugins', 'trust'], true);
  if (trust !== undefined && !(isScalar(trust) && trust.value === null) && !isSeq(trust)) throw invalid('`plugins.trust` must be a list of plugin ids');
  return doc;
}

/** Replaces the file in one step (a crash leaves the old file or the new one, never half of one). */
function writeDocument(path: string, doc: Document): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  // As the user wrote it as far as yaml allows: `[a, b]` not `[ a, b ]`, long lines not folded.
  writeFileSync(tmp, doc.toString({ flowCollectionPadding: false, lineWidth: 0 }));
  renameSync(tmp, path);
}

const trustIds = (doc: Document): string[] => {
  const trust = doc.getIn(['plugins', 'trust'], true);
  return isSeq(trust) ? trust.items.map((i) => (isScalar(i) ? String(i.value) : String(i))) : [];
};

/** Whether the config file at `path` lists `id` in plugins.trust (a missing file lists nothing). */
export function configTrusts(path: string, id: string): boolean {
  if (!existsSync(path)) return false;
  return trustIds(readDocument(path)).includes(id);
}

/**
 * Adds `id` to plugins.trust of the config file at `path` (created when
 * missing), keeping every comment and other key. False when it was listed
 * already (nothing written).
 */
export function addTrust(path: string, id: string): boolean {
  checkPluginId(id);
  const doc = readDocument(path);
  if (trustIds(doc).includes(id)) return false;
  const plugins = doc.get('plugins', true);
  if (!isMap(plugins)) doc.set('plugins', doc.createNode({ trust: [id] }));
  else {
    const trust = plugins.get('trust', true);
    if (isSeq(trust)) trust.add(doc.createNode(id));
    else plugins.set('trust', doc.createNode([id]));
  }
  writeDocument(path, doc);
  return true;
}

/** Removes `id` from plugins.trust of the config file at `path`, keeping the rest. False when it was not listed (nothing written). */
export function removeTrust(path: string, id: string): boolean {
  checkPluginId(id);
  if (!existsSync(path)) return false;
  const doc = readDocument(path);
  const trust = doc.getIn(['plugins', 'trust'], true);
  if (!isSeq(trust)) return false;
  const before = trust.items.length;
  trust.items = trust.items.filter((i) => !(isScalar(i) && i.value === id));
  if (trust.items.length === before) return false;
  writeDocument(path, doc);
  return true;
}
