import { validationFailed } from '../../domain/errors.js';
import { NO_USAGE } from '../../domain/usage.js';
import type { CostsInput, CostsReport } from '../../ports/loom-api.js';
import type { UseCaseDeps } from './deps.js';

/**
 * `loom costs`: usage grouped from the reports. Without `since`, the total is the project's running
 * total (the figure a budget would read), which the reports add up to exactly.
 */
export async function costs(d: UseCaseDeps, input: CostsInput): Promise<CostsReport> {
  const by = input.by ?? 'task';
  const since = input.since === undefined ? null : new Date(input.since);
  if (since !== null && Number.isNaN(since.getTime())) {
    throw validationFailed(`invalid costs input: since: "${input.since}" is not a date or time (ISO 8601, e.g. 2026-11-30 or 2026-11-30T12:00:00Z)`, { method: 'costs' });
  }
  const limit = input.limit ?? 50;
  if (since !== null) {
    const r = await d.store.usageGroups(input.project_id, by, since, limit);
    return { by, since: since.toISOString(), total: r.total, groups: r.groups };
  }
  const [r, totals] = await Promise.all([d.store.usageGroups(input.project_id, by, null, limit), d.store.usageTotals(input.project_id, [''])]);
  return { by, since: null, total: totals.get('') ?? NO_USAGE, groups: r.groups };
}
