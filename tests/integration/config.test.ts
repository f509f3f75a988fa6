/** Config layering (user file, project file, LOOM_* variables) and errors that name the file and key. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findProjectDir, loadConfig } from '../../src/app/config.js';

describe('config', () => {
  let home: string;
  let project: string;
  const env = () => ({ LOOM_HOME: home });
  const write = (dir: string, text: string) => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'config.yaml'), text);
  };

  beforeEach(() => {
    home = mkdtempSync(join(tmpdir(), 'loom-home-'));
    project = mkdtempSync(join(tmpdir(), 'loom-project-'));
  });
  afterEach(() => {
    rmSync(home, { recursive: true, force: true });
    rmSync(project, { recursive: true, force: true });
  });

  it('has defaults with no file at all', () => {
    const c = loadConfig(project, env());
    expect(c).toMatchObject({ project: null, database_url: null, tasks: { max_attempts: 3, lease_seconds: 300, failure_policy: 'block' }, daemon: { idle_timeout_seconds: 300 } });
  });

  it('layers the user file, then the project file, then LOOM_* variables, key by key', () => {
    write(home, 'tasks:\n  max_attempts: 5\n  lease_seconds: 60\n  retry: { base_ms: 100 }\ndatabase_url: postgres://user-file/db\n');
    write(join(project, '.loom'), 'project: { id: prj-abc, name: demo }\ntasks:\n  lease_seconds: 120\n  retry: { max_ms: 1000 }\n');
    const c = loadConfig(project, { ...env(), LOOM_MAX_ATTEMPTS: '7', LOOM_DATABASE_URL: 'postgres://env/db' });
    expect(c.project).toEqual({ id: 'prj-abc', name: 'demo' });
    expect(c.tasks.max_attempts).toBe(7); // env over user file
    expect(c.tasks.lease_seconds).toBe(120); // project over user file
    expect(c.tasks.retry).toEqual({ base_ms: 100, factor: 2, max_ms: 1000 }); // merged across files
    expect(c.database_url).toBe('postgres://env/db');
  });

  it.each([
    ['an unknown key', 'tasks:\n  max_atempts: 3\n', /config\.yaml: tasks: unknown field "max_atempts"/],
    ['a wrong type', 'tasks:\n  lease_seconds: soon\n', /config\.yaml: tasks\.lease_seconds: must be integer/],
    ['a bad policy', 'tasks:\n  failure_policy: ignore\n', /tasks\.failure_policy: must be one of block, cancel/],
    ['broken YAML', 'tasks: [\n', /config\.yaml is not valid YAML/],
  ])('rejects %s naming the file and the key', (_label, text, message) => {
    write(join(project, '.loom'), text);
    expect(() => loadConfig(project, env())).toThrowError(message);
    try {
      loadConfig(project, env());
    } catch (e) {
      expect(e).toMatchObject({ code: 'CONFIG_INVALID', details: { file: join(project, '.loom', 'config.yaml') } });
    }
  });

  it('rejects a bad LOOM_* variable by name', () => {
    expect(() => loadConfig(project, { ...env(), LOOM_LEASE_SECONDS: '-5' })).toThrowError(/LOOM_LEASE_SECONDS=-5 must be a positive integer/);
    expect(() => loadConfig(project, { ...env(), LOOM_FAILURE_POLICY: 'maybe' })).toThrowError(/failure_policy: must be one of block, cancel/);
  });

  it('finds the project from a subdirectory, and nothing outside one', () => {
    write(join(project, '.loom'), 'project: { id: prj-abc, name: demo }\n');
    const deep = join(project, 'src', 'lib');
    mkdirSync(deep, { recursive: true });
    expect(findProjectDir(deep)).toBe(project);
    expect(findProjectDir(home)).toBeNull();
  });
});
