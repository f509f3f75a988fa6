import { describe, expect, it } from 'vitest';
import { recordsetJson } from '../../src/adapters/postgres/rows.js';

describe('recordsetJson (rows for jsonb_to_recordset)', () => {
  it('leaves out top-level nulls only: a nested null stays, an absent key reads as NULL anyway', () => {
    const { json } = recordsetJson([{ id: 'a', output: null, context: { keep: null, deep: [null] }, n: 0, flag: false, empty: '' }]);
    expect(JSON.parse(json)).toEqual([{ id: 'a', context: { keep: null, deep: [null] }, n: 0, flag: false, empty: '' }]);
    expect(json).not.toContain('"output"');
  });

  it('sends a shared value once: rows equal to the first row leave it out, the others keep their own', () => {
    const origin = { kind: 'bench', id: 'x' };
    const rows = [
      { id: 'a', status: 'pending', origin, at: '2026-11-30T00:00:00.000Z' },
      { id: 'b', status: 'blocked', origin: { kind: 'bench', id: 'x' }, at: '2026-11-30T00:00:00.000Z' },
      { id: 'c', status: 'pending', origin: { kind: 'cli', id: 'y' }, at: '2026-11-30T00:00:01.000Z' },
    ];
    const { json, sharedValues } = recordsetJson(rows, ['status', 'origin', 'at']);
    expect(sharedValues).toEqual({ status: 'pending', origin, at: '2026-11-30T00:00:00.000Z' });
    expect(JSON.parse(json)).toEqual([{ id: 'a' }, { id: 'b', status: 'blocked' }, { id: 'c', origin: { kind: 'cli', id: 'y' }, at: '2026-11-30T00:00:01.000Z' }]);
  });

  it('an empty batch shares nothing', () => {
    expect(recordsetJson([], ['id'])).toEqual({ json: '[]', sharedValues: { id: null } });
  });
});
