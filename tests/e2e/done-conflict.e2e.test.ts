/**
 * The lease token entitles a report: a second done under the same lease
 * with another output is refused (CONFLICT, exit 1), never dropped with exit
 * 0; a done by another agent holding the token counts and records who held
 * the lease. (Issue 14, item 4, as reproduced.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loom, loomJson } from '../support/loom-cli.js';

describe('a conflicting done (built binary, embedded)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'loom-done-conflict-'));
    await loomJson(dir, ['init', '--name', 'conflict']);
  });
  afterAll(async () => {
    await loom(dir, ['daemon', 'stop']);
    rmSync(dir, { recursive: true, force: true });
  });

  it("bob's done with alice's token counts; alice's later done with another output is a CONFLICT, and bob's output stays", async () => {
    const task = await loomJson(dir, ['create', 'Ship it']);
    const claim = await loomJson(dir, ['claim', task.id, '--agent', 'alice']);
    const token = claim.lease.token as string;
    const bob = await loom(dir, ['done', task.id, '--agent', 'bob', '--token', token, '--output', '{"by":"bob"}']);
    expect(bob.code, bob.stderr).toBe(0);
    const alice = await loom(dir, ['done', task.id, '--agent', 'alice', '--token', token, '--output', '{"pr":12}']);
    expect(alice.code).toBe(1);
    expect(`${alice.stdout}${alice.stderr}`).toMatch(/CONFLICT: task .* is already done under this lease, with another output: yours was not recorded/);
    // The very same report again is still a harmless repeat.
    const again = await loom(dir, ['done', task.id, '--agent', 'bob', '--token', token, '--output', '{"by":"bob"}']);
    expect(again.code).toBe(0);
    const status = await loomJson(dir, ['status', task.id]);
    expect(status.task.output).toEqual({ by: 'bob' });
    const events = (await loomJson(dir, ['events'])) as Array<{ type: string; agent_id: string; payload: Record<string, unknown> }>;
    expect(events.filter((e) => e.type === 'task.done').map((e) => [e.agent_id, e.payload.lease_holder])).toEqual([['bob', 'alice']]);
  });
});
