/**
 * Four `loom init` at once in one directory make exactly one project, and
 * every caller is told that one (issue 14, item 7): they take turns on a lock
 * in .loom/, and those after the first find the project the first wrote.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as yaml from 'js-yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { loom, loomJson } from '../support/loom-cli.js';

describe('concurrent loom init (built binary, embedded)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-init-race-'));
  afterAll(async () => {
    await loom(dir, ['daemon', 'stop']);
    rmSync(dir, { recursive: true, force: true });
  });

  it('4 at once: one project created, all four told its id, and the config names it', async () => {
    const results = await Promise.all([1, 2, 3, 4].map(() => loomJson<{ project: { id: string }; created: boolean }>(dir, ['init', '--name', 'race'])));
    const ids = new Set(results.map((r) => r.project.id));
    expect(ids.size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    const config = yaml.load(readFileSync(join(dir, '.loom', 'config.yaml'), 'utf8')) as { project: { id: string } };
    expect(config.project.id).toBe([...ids][0]);
    const status = await loomJson(dir, ['status']);
    expect(JSON.stringify(status)).toContain([...ids][0]);
  });
});
