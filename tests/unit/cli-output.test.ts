import { describe, expect, it } from 'vitest';
import { formatDuration, printable, relativeTime, renderFields, renderTable, shellQuote } from '../../src/adapters/cli/output.js';

describe('renderTable', () => {
  const rows = [
    { id: 'loom-00000001', n: 3, title: 'First' },
    { id: 'loom-2', n: 120, title: 'A much longer title' },
  ];

  it('aligns columns, right-aligns numbers, and leaves no trailing spaces', () => {
    const text = renderTable(rows, [
      { header: 'ID', value: (r) => r.id },
      { header: 'N', value: (r) => String(r.n), align: 'right' },
      { header: 'TITLE', value: (r) => r.title },
    ]);
    expect(text.split('\n')).toEqual([
      'ID               N  TITLE',
      'loom-00000001    3  First',
      'loom-2         120  A much longer title',
    ]);
  });

  it('keeps a row on one line when a cell has newlines', () => {
    const text = renderTable([{ t: 'two\nlines' }], [{ header: 'T', value: (r) => r.t }]);
    expect(text).toBe('T\ntwo lines');
  });

  it('prints only the header for no rows', () => {
    expect(renderTable([], [{ header: 'ID', value: () => '' }, { header: 'TITLE', value: () => '' }])).toBe('ID  TITLE');
  });
});

describe('renderFields', () => {
  it('aligns keys and leaves out undefined values', () => {
    expect(renderFields([['status', 'pending'], ['parent', undefined], ['depends on', 'none']])).toBe(
      'status      pending\ndepends on  none',
    );
  });
});

describe('time', () => {
  const now = new Date('2025-01-31T12:00:00Z');
  it.each([
    ['2025-01-31T12:00:00.400Z', 'now'],
    ['2025-01-31T11:59:15Z', '45s ago'],
    ['2025-01-31T11:48:00Z', '12m ago'],
    ['2025-01-31T12:05:00Z', 'in 5m'],
    ['2025-01-31T09:00:00Z', '3h ago'],
    ['2025-01-29T12:00:00Z', '2d ago'],
    ['not a date', 'not a date'],
  ])('relativeTime(%s) = %s', (iso, expected) => {
    expect(relativeTime(iso, now)).toBe(expected);
  });

  it('rounds to the largest unit', () => {
    expect(formatDuration(599_900)).toBe('10m');
    expect(formatDuration(0)).toBe('0s');
  });
});

describe('shellQuote', () => {
  it.each([
    ['worker-1', 'worker-1'],
    ['agent:claude/2', 'agent:claude/2'],
    ['two words', "'two words'"],
    ["it's", "'it'\\''s'"],
    ['', "''"],
  ])('%j -> %s', (word, expected) => {
    expect(shellQuote(word)).toBe(expected);
  });
});

describe('printable', () => {
  it.each<[string, string, string]>([
    ['an escape sequence', 'title \u001b[2J\u001b[H', 'title \\u001b[2J\\u001b[H'],
    ['a bell and a carriage return', 'a\u0007b\rc', 'a\\u0007b\\u000dc'],
    ['C1 controls and DEL', 'x\u009b31m\u007f', 'x\\u009b31m\\u007f'],
    ['a bidi override', 'user\u202etxt.exe', 'user\\u202etxt.exe'],
  ])('shows %s instead of obeying it', (_label, text, shown) => {
    expect(printable(text)).toBe(shown);
  });

  it('leaves tabs, newlines and ordinary Unicode alone', () => {
    expect(printable('a\tb\nnaïve 🚀 עברית')).toBe('a\tb\nnaïve 🚀 עברית');
  });
});
