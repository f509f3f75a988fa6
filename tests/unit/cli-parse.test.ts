import { describe, expect, it } from 'vitest';
import { LoomError } from '../../src/domain/errors.js';
import {
  agentOrOperator,
  parseGraphFormat,
  parseIdList,
  parseJsonObject,
  parseNonNegativeInt,
  parseOrigin,
  parsePositiveInt,
  parsePriority,
  parseStatuses,
} from '../../src/adapters/cli/parse.js';

/** Runs `fn` and returns the LoomError it threw (failing the test if it threw anything else, or nothing). */
function caught(fn: () => unknown): LoomError {
  try {
    fn();
  } catch (error) {
    if (LoomError.is(error)) return error;
    throw error;
  }
  throw new Error('expected a LoomError, nothing was thrown');
}

describe('parseJsonObject', () => {
  it.each([
    ['{}', {}],
    ['{"a":1,"b":{"c":[true,null]}}', { a: 1, b: { c: [true, null] } }],
    ['  { "spaced" : "ok" }  ', { spaced: 'ok' }],
  ])('accepts %s', (text, expected) => {
    expect(parseJsonObject('--context', text)).toEqual(expected);
  });

  it.each([
    ['{bad', /^--context is not valid JSON: /],
    ['', /^--context is not valid JSON: /],
    ["{'single': 1}", /^--context is not valid JSON: /],
    ['[1,2]', /^--context must be a JSON object.*got an array$/],
    ['null', /^--context must be a JSON object.*got null$/],
    ['42', /^--context must be a JSON object.*got a number$/],
    ['"text"', /^--context must be a JSON object.*got a string$/],
  ])('rejects %j with VALIDATION_FAILED and a hint', (text, message) => {
    const error = caught(() => parseJsonObject('--context', text));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.message).toMatch(message);
    expect(error.hint).toBeTruthy();
  });

  it('names the flag it parsed', () => {
    expect(caught(() => parseJsonObject('--output', '{')).message).toMatch(/^--output is not valid JSON/);
  });
});

describe('parseOrigin', () => {
  it.each([
    [undefined, { USER: 'alice' }, { kind: 'cli', id: 'alice' }],
    [undefined, {}, { kind: 'cli', id: 'operator' }],
    [undefined, { USER: '' }, { kind: 'cli', id: 'operator' }],
    ['agent:claude-1', {}, { kind: 'agent', id: 'claude-1' }],
    ['workflow:ship:feature', {}, { kind: 'workflow', id: 'ship:feature' }],
  ])('%s with env %j -> %j', (text, env, expected) => {
    expect(parseOrigin(text, env)).toEqual(expected);
  });

  it.each(['agent', ':id', 'agent:', ' : '])('rejects %j', (text) => {
    const error = caught(() => parseOrigin(text, {}));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.message).toContain('KIND:ID');
  });
});

describe('parsePriority', () => {
  it.each([
    [undefined, undefined],
    ['p0', 'p0'],
    ['p1', 'p1'],
    ['P2', 'p2'],
  ])('%s -> %s', (text, expected) => {
    expect(parsePriority(text)).toBe(expected);
  });

  it.each(['p3', 'high', '0', ''])('rejects %j', (text) => {
    const error = caught(() => parsePriority(text));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.message).toContain('p0, p1, p2');
  });
});

describe('integers', () => {
  it.each([
    [undefined, undefined],
    ['1', 1],
    ['25', 25],
    [' 300 ', 300],
  ])('parsePositiveInt(%j) -> %j', (text, expected) => {
    expect(parsePositiveInt('--limit', text)).toBe(expected);
  });

  it.each(['0', '-1', '1.5', 'ten', '', '1e3', '99999999999999999999'])('parsePositiveInt rejects %j', (text) => {
    const error = caught(() => parsePositiveInt('--lease-seconds', text));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.message).toBe(`--lease-seconds must be a positive integer, got '${text}'`);
  });

  it('parseNonNegativeInt accepts 0 and rejects negatives', () => {
    expect(parseNonNegativeInt('--since', '0')).toBe(0);
    expect(parseNonNegativeInt('--since', '17')).toBe(17);
    expect(caught(() => parseNonNegativeInt('--since', '-3')).code).toBe('VALIDATION_FAILED');
  });
});

describe('parseGraphFormat', () => {
  it.each([
    [undefined, 'summary'],
    ['json', 'json'],
    ['mermaid', 'mermaid'],
    ['waves', 'waves'],
  ])('%s -> %s', (text, expected) => {
    expect(parseGraphFormat(text)).toBe(expected);
  });

  it('rejects an unknown format', () => {
    expect(caught(() => parseGraphFormat('png')).message).toContain("got 'png'");
  });
});

describe('parseIdList', () => {
  it.each([
    [undefined, undefined],
    [[], []],
    [['loom-00000001'], ['loom-00000001']],
    [['loom-00000001', 'loom-00000002'], ['loom-00000001', 'loom-00000002']],
    [['loom-00000001,loom-00000002', ' loom-00000003 '], ['loom-00000001', 'loom-00000002', 'loom-00000003']],
    [['loom-00000001', 'loom-00000001'], ['loom-00000001']],
  ])('%j -> %j', (values, expected) => {
    expect(parseIdList(values)).toEqual(expected);
  });
});

describe('parseStatuses', () => {
  it.each([
    [undefined, undefined],
    [[], undefined],
    [['pending'], ['pending']],
    [['Blocked,claimed', 'blocked', ' done '], ['blocked', 'claimed', 'done']],
  ])('%j -> %j', (values, expected) => {
    expect(parseStatuses(values)).toEqual(expected);
  });

  it('rejects an unknown status, naming the known ones', () => {
    const error = caught(() => parseStatuses(['pending,open']));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.message).toContain("got 'open'");
    expect(error.message).toContain('pending, blocked, claimed, done, failed, cancelled, epic');
  });
});

describe('agentOrOperator', () => {
  it.each([
    ['given', { LOOM_AGENT_ID: 'claude-1', USER: 'alice' }, 'given'],
    [undefined, { LOOM_AGENT_ID: 'claude-1', USER: 'alice' }, 'claude-1'],
    [undefined, { LOOM_AGENT_ID: '', USER: 'alice' }, 'alice'],
    [undefined, { USERNAME: 'bob' }, 'bob'],
    [undefined, {}, 'operator'],
  ])('%s with env %j -> %s', (given, env, expected) => {
    expect(agentOrOperator(given, env)).toBe(expected);
  });
});
