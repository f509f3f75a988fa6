/**
 * A broken config's hint never leads to orphaned tasks (issue 14, item 5):
 * it says to keep the project id; and a directory that lost its config finds
 * its project with `loom project list` and reattaches with `loom init
 * --project ID`, its tasks in view again. A clone of an embedded project (its
 * committed config, no .loom/data) is told why the project is missing, and
 * `loom init` makes it there under the config's id.
 */
import { appendFileSync, cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
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

  it('a clone of an embedded project: the store is empty, the hint says why, and init makes the project under the config\'s id', async () => {
    const origin = await loomJson(dir, ['status']);
    const clone = mkdtempSync(join(tmpdir(), 'loom-clone-'));
    try {
      mkdirSync(join(clone, '.loom'));
      cpSync(join(dir, '.loom', 'config.yaml'), join(clone, '.loom', 'config.yaml')); // what git carries
      const missing = await loom(clone, ['status']);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain(`PROJECT_NOT_FOUND: no project ${origin.project.id} in this database`);
      expect(missing.stderr).toContain('an embedded store, .loom/data, belongs to one clone on one machine and is not in git');
      const text = await loom(clone, ['init']);
      expect(text.code).toBe(0);
      expect(text.stdout).toContain(`created project keep (${origin.project.id}) in this clone's embedded store (.loom/data, not in git: it starts empty in each clone), as .loom/config.yaml names it`);
      const again = await loomJson(clone, ['init']);
      expect(again).toMatchObject({ created: false, project: { id: origin.project.id } });
      expect(again.from_config).toBeUndefined();
      expect((await loomJson(clone, ['status'])).total).toBe(0); // a graph of its own, empty
    } finally {
      await loom(clone, ['daemon', 'stop']);
      rmSync(clone, { recursive: true, force: true });
    }
  });
});
