/**
 * A broken config's hint never leads to orphaned tasks (issue 14, item 5):
 * it says to keep the project id; and a directory that lost its config finds
 * its project with `loom project list` and reattaches with `loom init
 * --project ID`, its tasks in view again.
 */
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loom, loomJson } from '../support/loom-cli.js';

describe('orphaned projects (built binary, embedded)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'loom-reattach-'));
  afterAll(async () => {
    await loom(dir, ['daemon', 'stop']);
    rmSync(dir, { recursive: true, force: true });
  });

  it('the config hint keeps the project; project list and init --project bring a lost one back', async () => {
    const init = await loomJson(dir, ['init', '--name', 'keep']);
    const task = await loomJson(dir, ['create', 'Keep me']);
    const config = join(dir, '.loom', 'config.yaml');
    appendFileSync(config, 'broken: [\n');
    const broken = await loom(dir, ['status']);
    expect(broken.code).toBe(1);
    expect(broken.stderr + broken.stdout).toMatch(/CONFIG_INVALID/);
    expect(broken.stderr + broken.stdout).toMatch(/keep its project id line/);
    expect(broken.stderr + broken.stdout).not.toMatch(/delete it and run `loom init` again/);
    rmSync(config);
    const list = await loomJson(dir, ['project', 'list']);
    expect(list.current).toBeNull();
    expect(list.projects).toEqual([expect.objectContaining({ id: init.project.id, name: 'keep', counts: { pending: 1 } })]);
    const text = await loom(dir, ['project', 'list']);
    expect(text.stdout).toMatch(new RegExp(`${init.project.id}\\s+keep\\s+1\\s+0\\s+1`));
    const again = await loomJson(dir, ['init', '--project', init.project.id]);
    expect(again).toMatchObject({ created: false, project: { id: init.project.id } });
    expect((await loomJson(dir, ['ready'])).map((t: { id: string }) => t.id)).toEqual([task.id]);
    expect((await loomJson(dir, ['project', 'list'])).current).toBe(init.project.id);
    const missing = await loom(dir, ['init', '--project', 'prj-000000000000']);
    expect(missing.code).toBe(1);
    expect(missing.stderr + missing.stdout).toMatch(/PROJECT_NOT_FOUND: no project prj-000000000000 in this database/);
  });
});
