/**
 * What text Loom can store: Postgres text and jsonb hold neither NUL nor
 * lone surrogates, so such input is refused at the edge (naming where it
 * is) instead of failing in the database or being silently altered.
 */

/** How deep a JSON value (a context, an output) may nest. */
export const MAX_JSON_DEPTH = 64;

// NUL cannot be stored in Postgres text or jsonb; a lone surrogate is not Unicode text at all
// (jsonb refuses it, and the driver's UTF-8 encoding would silently turn it into U+FFFD).
const UNSTORABLE = /[\u0000\p{Cs}]/u;

function whatIsWrong(s: string): string | null {
  const m = UNSTORABLE.exec(s);
  if (m === null) return null;
  const at = `at character ${m.index + 1}`;
  return m[0] === '\u0000'
    ? `contains a NUL character (U+0000) ${at}, which cannot be stored: remove it`
    : `contains a lone surrogate (U+${m[0].charCodeAt(0).toString(16).toUpperCase()} without its pair) ${at}: send well-formed Unicode text`;
}

/**
 * Keys that change an object's prototype when JavaScript code merges the
 * value into another object (a deep merge, Object.assign): `__proto__`
 * anywhere, and `prototype` under a `constructor` key (the other classic
 * path). Loom hands contexts, outputs and options to plugin code, so such
 * input is refused at the edge; `constructor` or `prototype` alone are
 * ordinary words and stay allowed.
 */
function pollutingKey(key: string, path: string): string | null {
  if (key === '__proto__') return 'the key "__proto__" is refused (merged into an object by JavaScript code, it would change that object\'s prototype): rename it';
  if (key === 'prototype' && (path === 'constructor' || path.endsWith('.constructor'))) {
    return 'the key "prototype" under a "constructor" key is refused (merged by JavaScript code, it would change a prototype): rename one of them';
  }
  return null;
}

const shown = (key: string): string => JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}...` : key);

/**
 * The first string (or object key) in `value` that cannot be stored, a key
 * that could pollute a prototype (`__proto__`, `constructor.prototype`), or a
 * nesting deeper than MAX_JSON_DEPTH, described with its path (`context.a.b`);
 * null when everything is storable. Iterative, so hostile nesting cannot
 * overflow the stack.
 */
export function findUnsafeText(value: unknown, root = ''): string | null {
  const stack: Array<{ v: unknown; path: string; depth: number }> = [{ v: value, path: root, depth: 0 }];
  const name = (path: string) => (path === '' ? 'input' : path);
  while (stack.length > 0) {
    const { v, path, depth } = stack.pop()!;
    if (typeof v === 'string') {
      const wrong = whatIsWrong(v);
      if (wrong !== null) return `${name(path)}: ${wrong}`;
      continue;
    }
    if (typeof v !== 'object' || v === null) continue;
    if (depth >= MAX_JSON_DEPTH) return `${name(path)}: nested deeper than ${MAX_JSON_DEPTH} levels`;
    if (Array.isArray(v)) {
      v.forEach((item, i) => stack.push({ v: item, path: `${path}[${i}]`, depth: depth + 1 }));
      continue;
    }
    for (const [key, item] of Object.entries(v)) {
      const wrong = whatIsWrong(key);
      if (wrong !== null) return `${name(path)}: the key ${shown(key)} ${wrong}`;
      const polluting = pollutingKey(key, path);
      if (polluting !== null) return `${name(path)}: ${polluting}`;
      stack.push({ v: item, path: path === '' ? key : `${path}.${key}`, depth: depth + 1 });
    }
  }
  return null;
}

