import { describe, expect, it } from 'vitest';
import { findUnsafeText, MAX_JSON_DEPTH } from '../../src/domain/text.js';

function deep(levels: number, leaf: unknown = 1): unknown {
  let v = leaf;
  for (let i = 0; i < levels; i++) v = [v];
  return v;
}

describe('findUnsafeText', () => {
  it.each<[string, unknown]>([
    ['plain ASCII', { title: 'Fix the parser', n: 3, ok: true, none: null }],
    ['astral characters (a surrogate pair is one character)', { t: 'ship it 🚀', k: '𝔘𝔫𝔦𝔠𝔬𝔡𝔢' }],
    ['combining marks and right-to-left text', { t: 'e\u0301 שלום' }],
    ['a backslash-u sequence written out (not a NUL)', { t: '\\u0000' }],
    ['control characters other than NUL', { t: 'tab\there\u0001\u007f' }],
    ['non-characters U+FFFE and U+FFFF', { t: '\ufffe\uffff' }],
    ['nesting at the limit', { c: deep(MAX_JSON_DEPTH - 1) }],
    ['the words constructor and prototype as keys', { constructor: 'Parser', prototype: 'figma.com/file/1', c: { constructor: { name: 'x' } } }],
  ])('accepts %s', (_label, value) => {
    expect(findUnsafeText(value)).toBeNull();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it.each<[string, unknown, string]>([
    ['a NUL at the top', 'a\u0000', 'input: contains a NUL character (U+0000) at character 2'],
    ['a NUL in a field', { title: 'x\u0000' }, 'title: contains a NUL'],
    ['a lone high surrogate', { title: 'ab\ud800' }, 'title: contains a lone surrogate (U+D800 without its pair) at character 3'],
    ['a lone low surrogate', { title: '\udc00' }, 'title: contains a lone surrogate (U+DC00'],
    ['reversed surrogates', { t: '\ude00\ud83d' }, 't: contains a lone surrogate (U+DE00'],
    ['a deep path', { context: { a: [{ b: 'ok' }, { b: 'x\u0000' }] } }, 'context.a[1].b: contains a NUL'],
    ['a bad key', { context: { 'k\u0000ey': 1 } }, 'context: the key "k\\u0000ey" contains a NUL'],
    ['a bad key at the top', { ['\ud800']: 1 }, 'input: the key "\\ud800" contains a lone surrogate'],
    ['nesting past the limit', { c: deep(MAX_JSON_DEPTH + 1) }, `nested deeper than ${MAX_JSON_DEPTH} levels`],
    // what a deep merge in plugin code would turn into prototype pollution
    ['a __proto__ key at the top', JSON.parse('{"__proto__": {"polluted": true}}'), 'input: the key "__proto__" is refused'],
    ['a __proto__ key deep down', JSON.parse('{"context": {"a": [{"__proto__": {"polluted": true}}]}}'), 'context.a[0]: the key "__proto__" is refused'],
    ['constructor.prototype', JSON.parse('{"context": {"constructor": {"prototype": {"polluted": true}}}}'), 'context.constructor: the key "prototype" under a "constructor" key is refused'],
    ['constructor.prototype at the top', JSON.parse('{"constructor": {"prototype": {}}}'), 'constructor: the key "prototype"'],
  ])('refuses %s, naming where', (_label, value, says) => {
    expect(findUnsafeText(value)).toContain(says);
  });

  it('names the root it was given', () => {
    expect(findUnsafeText({ a: '\u0000' }, 'context')).toContain('context.a:');
  });

  it('walks hostile nesting without overflowing the stack', () => {
    expect(findUnsafeText(deep(200_000))).toContain(`nested deeper than ${MAX_JSON_DEPTH}`);
  });

  it('shortens a long bad key in the message', () => {
    const key = `${'k'.repeat(100)}\u0000`;
    const message = findUnsafeText({ [key]: 1 })!;
    expect(message.length).toBeLessThan(200);
  });
});
