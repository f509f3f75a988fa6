import { describe, expect, it } from 'vitest';
import { costMicros, formatUsd, usageFromJson, usageFromOutput } from '../../src/domain/usage.js';

describe('costMicros', () => {
  it.each([
    [0, 0],
    [0.000001, 1],
    [0.0000005, 1], // half rounds up
    [0.0000004, 0],
    [0.0123456, 12_346],
    [0.1 + 0.2, 300_000], // float noise is dropped
    [1.005, 1_005_000],
    [10_000, 10_000_000_000],
  ])('%d dollars is %d micro-dollars', (usd, micros) => expect(costMicros(usd)).toBe(micros));
});

describe('formatUsd', () => {
  it.each([
    [0, '$0.000000'],
    [1, '$0.000001'],
    [12_346, '$0.012346'],
    [1_234_567_890, '$1234.567890'],
  ])('%d micros -> %s', (micros, text) => expect(formatUsd(micros)).toBe(text));
});

describe('usageFromJson', () => {
  const claude = {
    type: 'result',
    subtype: 'success',
    is_error: false,
    result: 'ok',
    total_cost_usd: 0.0123,
    usage: { input_tokens: 12, cache_creation_input_tokens: 5, cache_read_input_tokens: 3456, output_tokens: 789 },
    modelUsage: { 'claude-x': {} },
  };
  it.each<[string, unknown, unknown]>([
    ['a Claude Code result', claude, { input_tokens: 12, output_tokens: 789, cache_read_tokens: 3456, cost_usd: 0.0123, model: 'claude-x' }],
    ['a loom_usage line', { loom_usage: { input_tokens: 1, output_tokens: 2, cost_usd: 0.5, model: 'm' } }, { input_tokens: 1, output_tokens: 2, cost_usd: 0.5, model: 'm' }],
    ['a usage line', { usage: { input_tokens: 1, output_tokens: 2, cache_read_tokens: 3 } }, { input_tokens: 1, output_tokens: 2, cache_read_tokens: 3 }],
    ['loom_usage wins over usage', { loom_usage: { input_tokens: 1, output_tokens: 1 }, usage: { input_tokens: 9, output_tokens: 9 }, total_cost_usd: 3 }, { input_tokens: 1, output_tokens: 1 }],
    ['no usage', { result: 'x' }, null],
    ['usage without tokens', { usage: { cost_usd: 1 } }, null],
    ['tokens as strings', { usage: { input_tokens: '1', output_tokens: 2 } }, null],
    ['negative tokens', { usage: { input_tokens: -1, output_tokens: 2 } }, null],
    ['an array', [1], null],
    ['a number', 3, null],
  ])('%s', (_name, value, expected) => expect(usageFromJson(value)).toEqual(expected));
});

describe('usageFromOutput', () => {
  it('takes the last line that reports usage, past trailing text', () => {
    const out = ['{"usage":{"input_tokens":1,"output_tokens":1}}', 'log line', '{"loom_usage":{"input_tokens":2,"output_tokens":3}}', '{"not":"usage"}', 'bye', ''].join('\n');
    expect(usageFromOutput(out)).toEqual({ input_tokens: 2, output_tokens: 3 });
  });
  it('reads a pretty-printed JSON result as a whole', () => {
    expect(usageFromOutput(JSON.stringify({ total_cost_usd: 1, usage: { input_tokens: 1, output_tokens: 2 } }, null, 2))).toEqual({ input_tokens: 1, output_tokens: 2, cost_usd: 1 });
  });
  it('is null for output without usage, or broken JSON', () => {
    expect(usageFromOutput('hello\n{"usage": {"input_tokens": 1,\n')).toBeNull();
    expect(usageFromOutput('')).toBeNull();
  });
});
