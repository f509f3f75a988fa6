/**
 * `loom export` and `loom import` as a person types them: a project goes
 * from one directory's embedded store to stdout, into a Postgres database,
 * and from there into another directory that then attaches to it; the
 * same file twice is refused, and a damaged file names its line.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { loom, loomJson } from '../support/loom-cli.js';

const TIMEOUT_MS = 240_000;
const dirs: string[] = [];
const temp = (label: string): string => {
  const d = mkdtempSync(join(tmpdir(), `loom-${label}-`));
  dirs.push(d);
  return d;
};

describe('loom export / loom import', () => {
  let db: TestDatabase;
  let home: string;
  let source: string;
  let projectId: string;
  beforeAll(async () => {
    db = await createTestDatabase('export-cli');
    home = temp('home');
    source = temp('source');
    projectId = (await loomJson(source, ['init', '--name', 'portable'], { LOOM_HOME: home })).project.id;
    const a = await loomJson(source, ['create', 'first', '--label', 'area:cli'], { LOOM_HOME: home });
    await loomJson(source, ['create', 'second', '--depends-on', a.id], { LOOM_HOME: home });
  }, TIMEOUT_MS);
  afterAll(async () => {
    for (const d of dirs) {
      await loom(d, ['daemon', 'stop'], { LOOM_HOME: home });
      rmSync(d, { recursive: true, force: true });
    }
    await db?.drop();
  });

  it('round trip: embedded -> stdout -> Postgres -> file -> another embedded directory, nothing lost', async () => {
    const out = await loom(source, ['export', '--events'], { LOOM_HOME: home });
    expect(out.code, out.stderr).toBe(0);
    expect(out.stderr).toMatch(new RegExp(`exported ${projectId}: 2 tasks, 1 edge, .*events`));
    const lines = out.stdout.trimEnd().split('\n');
    expect(JSON.parse(lines[0]!)).toMatchObject({ loom_export: 1, project: { id: projectId, name: 'portable' }, events: true });
    const file = join(temp('files'), 'portable.jsonl');
    writeFileSync(file, out.stdout);

    // Into Postgres, from a directory with no project of its own.
    const server = temp('server');
    const env = { LOOM_HOME: home, LOOM_DATABASE_URL: db.url };
    const imported = await loom(server, ['import', file], env);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toContain(`imported ${projectId}: 2 tasks, 1 edge`);
    expect(imported.stdout).toContain(`loom init --project ${projectId}`);
    // The same file again: refused, nothing changed.
    const twice = await loom(server, ['import', file], env);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain('IMPORT_CONFLICT');

    // Attach, export from the server without events, import into a fresh embedded directory.
    await loomJson(server, ['init', '--project', projectId], env);
    const exported = await loomJson(server, ['export', '-o', 'copy.jsonl'], env);
    expect(exported).toMatchObject({ project_id: projectId, counts: { task: 2, dep: 1, event: 0 } });
    const copy = temp('copy');
    const r = await loomJson(copy, ['import', join(server, 'copy.jsonl')], { LOOM_HOME: home });
    expect(r).toMatchObject({ mode: 'embedded', current: null, result: { project_id: projectId, events: false, events_written: 3 } });
    await loomJson(copy, ['init', '--project', projectId], { LOOM_HOME: home });
    const list = await loomJson(copy, ['list'], { LOOM_HOME: home });
    expect(list.map((t: { title: string }) => t.title).sort()).toEqual(['first', 'second']);
    expect(list.find((t: { title: string }) => t.title === 'first').labels).toEqual(['area:cli']);
    expect((await loom(copy, ['fsck'], { LOOM_HOME: home })).code).toBe(0);
    // Task and edge lines are the same bytes in every store.
    const rows = (text: string) => text.split('\n').filter((l) => l.startsWith('{"task"') || l.startsWith('{"dep"'));
    const again = await loom(copy, ['export'], { LOOM_HOME: home });
    expect(rows(again.stdout)).toEqual(rows(readFileSync(file, 'utf8')));
  }, TIMEOUT_MS);

  it('a damaged file is refused naming its line, and a missing one naming the path', async () => {
    const dir = temp('bad');
    const file = join(dir, 'bad.jsonl');
    const good = (await loom(source, ['export'], { LOOM_HOME: home })).stdout.split('\n');
    writeFileSync(file, [good[0], '{"task": oops', ...good.slice(1)].join('\n'));
    const r = await loom(dir, ['import', 'bad.jsonl'], { LOOM_HOME: home });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('IMPORT_INVALID: line 2: not JSON');
    const missing = await loom(dir, ['import', 'nope.jsonl'], { LOOM_HOME: home });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/VALIDATION_FAILED: cannot read \/\S+nope\.jsonl/);
  }, TIMEOUT_MS);
});
