import type pg from 'pg';

/**
 * Bulk-loads `n` tasks into a project through SQL (a third each pending,
 * blocked and done; priorities and weights spread; ages one second apart):
 * the benchmarks are about reading at scale, not about creating 100k tasks.
 * Ids are `loom-<n in hex>`; where one is already taken (an earlier phase's
 * random id), the next free number stands in, so exactly `n` land.
 */
export async function bulkLoadTasks(pool: pg.Pool, projectId: string, n: number): Promise<void> {
  let next = 1;
  for (let missing = n; missing > 0; ) {
    const r = await pool.query(
      `INSERT INTO tasks (id, project_id, title, status, priority, origin, max_attempts, weight, created_at, updated_at)
       SELECT 'loom-' || lpad(to_hex(g), 8, '0'), $1, 'bulk ' || g,
              CASE WHEN g % 3 = 0 THEN 'done' WHEN g % 3 = 1 THEN 'pending' ELSE 'blocked' END,
              (ARRAY['p0','p1','p2'])[1 + g % 3], '{"kind":"bench","id":"bulk"}', 3, g % 17,
              now() - (g || ' seconds')::interval, now()
         FROM generate_series($2::int, $3::int) g
       ON CONFLICT (id) DO NOTHING`,
      [projectId, next, next + missing - 1],
    );
    next += missing;
    missing -= r.rowCount ?? 0;
  }
  await pool.query('ANALYZE tasks');
}
