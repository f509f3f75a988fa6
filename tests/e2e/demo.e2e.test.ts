/** `loom demo`: the newcomer's first command runs a whole graph to completion over MCP. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loom, loomJson } from '../support/loom-cli.js';

describe('loom demo', () => {
  // One command that starts a daemon and three MCP agent processes: a minute or more on a loaded machine.
  it('plans an epic, lets three MCP agents finish it in dependency order, and exits 0', { timeout: 300_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loom-demo-e2e-'));
    try {
      const r = await loom(dir, ['demo', join(dir, 'project')], { LOOM_DAEMON_IDLE_SECONDS: '30' }, { timeoutMs: 240_000 });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('planned an epic with 7 steps');
      expect(r.stdout).toMatch(/completed the epic loom-[0-9a-f]{8}/);
      expect(r.stdout).toContain('status: done 8');
      // every agent heard events from the others
      expect(r.stdout).toMatch(/notifications heard: ada [1-9]\d*, grace [1-9]\d*, linus [1-9]\d*/);
      // the project is left to explore, complete
      const overview = await loomJson(join(dir, 'project'), ['status']);
      expect(overview.counts.done).toBe(8);
      const order = (await loomJson<Array<{ type: string; task_id: string }>>(join(dir, 'project'), ['events', '--limit', '1000']))
        .filter((e) => e.type === 'task.done')
        .map((e) => e.task_id);
      expect(order).toHaveLength(7);
    } finally {
      await loom(join(dir, 'project'), ['daemon', 'stop']);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
