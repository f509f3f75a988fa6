import type { JsonObject } from '../../src/domain/task.js';

/**
 * A task context as agents write them (a spec paragraph, files, acceptance
 * criteria, notes), about 1 KB of JSON; `i` varies the text so nothing
 * compresses into a repeat.
 */
export function realisticContext(i: number): JsonObject {
  return {
    spec:
      `Add CSV export to the invoices page (variant ${i}). The export button sits next to the filter bar and downloads ` +
      'the rows the current filters select, not only the visible page. Columns: number, customer, issued, due, total, ' +
      'currency, status. Dates are ISO 8601 in the customer time zone; totals keep two decimals and no thousands separator.',
    files: [`src/invoices/export-${i}.ts`, 'src/invoices/InvoiceTable.tsx', 'src/api/invoices.ts', `tests/invoices/export-${i}.test.ts`],
    acceptance: [
      'an export of 10,000 rows finishes in under 3 s and streams (no full buffer in memory)',
      'a filter with no rows gives a file with the header line only',
      'quotes and commas inside customer names are escaped per RFC 4180',
      'the button is disabled while an export runs and says how many rows are left',
    ],
    notes: `Reuse the query builder of the list endpoint; see PR #${1200 + i} for the pagination cursor. Ask the lead before adding a dependency; the design review is on Thursday.`,
    estimate: { size: 'm', hours: 3 + (i % 5) },
  };
}
