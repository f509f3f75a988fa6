import { afterEach, describe, expect, it } from 'vitest';
import { printable, renderTable, setTableColors, withColors } from '../../src/adapters/cli/output.js';

const rows = [
  { id: 'loom-1', status: 'done', title: 'Spec' },
  { id: 'loom-22', status: 'blocked', title: 'Build' },
  { id: 'loom-3', status: 'failed', title: 'Docs' },
];
const columns = [
  { header: 'ID', value: (r: (typeof rows)[number]) => r.id },
  { header: 'STATUS', value: (r: (typeof rows)[number]) => r.status },
  { header: 'TITLE', value: (r: (typeof rows)[number]) => r.title },
];
const strip = (s: string): string => s.replace(/\u001b\[[0-9;]*m/g, '');

afterEach(() => setTableColors(false));

describe('table colours', () => {
  it('are off by default: plain text', () => {
    expect(renderTable(rows, columns)).not.toContain('\u001b[');
  });

  it('colour the STATUS words in a colour terminal, keeping the alignment', () => {
    const plain = renderTable(rows, columns);
    setTableColors(true);
    const colored = withColors(printable(renderTable(rows, columns)));
    expect(colored).toContain('\u001b[32mdone\u001b[0m');
    expect(colored).toContain('\u001b[33mblocked\u001b[0m');
    expect(colored).toContain('\u001b[31mfailed\u001b[0m');
    expect(colored.split('\n')[0]).not.toContain('\u001b['); // the header stays plain
    expect(strip(colored)).toBe(plain);
  });

  it('a stored value cannot smuggle colour marks or escape codes through', () => {
    setTableColors(true);
    const hostile = [{ id: 'loom-9', status: 'done', title: '\ue000rred\ue001 \u001b[31mraw' }];
    const out = withColors(printable(renderTable(hostile, columns)));
    expect(out).not.toContain('\u001b[31m');
    expect(out).toContain('\\u001b[31mraw');
  });
});
