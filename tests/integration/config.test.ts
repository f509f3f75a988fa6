/** Config layering (user file, project file, LOOM_* variables) and errors that name the file and key. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findProjectDir, loadConfig } from '../../src/app/config.js';

describe('config', () => {
  let home: string;
  let project: string;
  const env = (extra: Record<string, string> = {}) => ({ LOOM_HOME: home, ...extra });
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

  it('adds up plugins.trust of the user file and the project file (paths: the project file wins)', () => {
    write(home, 'plugins:\n  trust: [mine]\n  paths: [../a]\n');
    write(join(project, '.loom'), 'plugins:\n  trust: [team, mine]\n  paths: [../b]\n');
    expect(loadConfig(project, env()).plugins).toEqual({ paths: ['../b'], trust: ['mine', 'team'] });
    write(join(project, '.loom'), 'plugins:\n  paths: [../b]\n');
    expect(loadConfig(project, env()).plugins).toEqual({ paths: ['../b'], trust: ['mine'] });
  });

  it.each(['', '\n', '# everything commented out\n# tasks:\n#   max_attempts: 5\n'])('reads an empty or all-comment file %j as setting nothing', (text) => {
    write(home, text);
    write(join(project, '.loom'), text);
    expect(loadConfig(project, env()).tasks.max_attempts).toBe(3);
  });

  it('reads the redis section: key prefix and cache switch, LOOM_REDIS_PREFIX over the files', () => {
    expect(loadConfig(project, env()).redis).toEqual({ key_prefix: 'loom:', cache: true });
    write(join(project, '.loom'), 'redis_url: redis://cache.internal:6379\nredis:\n  key_prefix: "team-a:"\n  cache: false\n');
    expect(loadConfig(project, env())).toMatchObject({ redis_url: 'redis://cache.internal:6379', redis: { key_prefix: 'team-a:', cache: false } });
    expect(loadConfig(project, env({ LOOM_REDIS_PREFIX: 'team-b:' })).redis).toEqual({ key_prefix: 'team-b:', cache: false });
    write(join(project, '.loom'), 'redis:\n  key_prefix: "has space"\n');
    expect(() => loadConfig(project, env())).toThrowError(/redis\.key_prefix/);
  });

  it('reads daemon.shared_buffers_mb, leaving it to the store when absent, and refuses what Postgres could not take', () => {
    expect(loadConfig(project, env()).daemon).toEqual({ idle_timeout_seconds: 300 });
    write(home, 'daemon:\n  shared_buffers_mb: 64\n');
    write(join(project, '.loom'), 'daemon:\n  idle_timeout_seconds: 60\n');
    expect(loadConfig(project, env()).daemon).toEqual({ idle_timeout_seconds: 60, shared_buffers_mb: 64 });
    for (const [bad, message] of [
      ['0', /daemon\.shared_buffers_mb: must be >= 1/],
      ['1025', /daemon\.shared_buffers_mb: must be <= 1024/],
      ['1.5', /daemon\.shared_buffers_mb: must be integer/],
      ['"16MB"', /daemon\.shared_buffers_mb: must be integer/],
    ] as const) {
      write(join(project, '.loom'), `daemon:\n  shared_buffers_mb: ${bad}\n`);
      expect(() => loadConfig(project, env())).toThrowError(message);
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

  it('merges plugin runner options by runner: the project wins per runner, the user keeps the others', () => {
    write(home, 'orchestration:\n  runner_options:\n    example/claude: { model: opus }\n    other/x: { a: 1 }\n');
    write(join(project, '.loom'), 'orchestration:\n  tick_seconds: 2\n  runner_options:\n    example/claude: { model: sonnet, max_turns: 9 }\n');
    const c = loadConfig(project, env());
    expect(c.orchestration).toEqual({ tick_seconds: 2, runner_options: { 'example/claude': { model: 'sonnet', max_turns: 9 }, 'other/x': { a: 1 } } });
    expect(loadConfig(home, env()).orchestration.runner_options).toEqual({ 'example/claude': { model: 'opus' }, 'other/x': { a: 1 } });
    // A name that is not <plugin-id>/<type>, or options that are not an object, name the key.
    write(join(project, '.loom'), 'orchestration:\n  runner_options:\n    Claude: {}\n');
    expect(() => loadConfig(project, env())).toThrowError(/runner_options/);
    write(join(project, '.loom'), 'orchestration:\n  runner_options:\n    example/claude: sonnet\n');
    expect(() => loadConfig(project, env())).toThrowError(/runner_options/);
    write(join(project, '.loom'), 'orchestration:\n  runner_options:\n    __proto__: { polluted: true }\n');
    expect(() => loadConfig(project, env())).toThrowError(/runner_options/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("never takes the home folder for a project: its .loom/config.yaml is the user's config", () => {
    // HOME with a user config (as `loom plugins trust` writes it), and a repository below it with no project yet.
    const userHome = join(project, 'me');
    write(join(userHome, '.loom'), 'plugins: { trust: [example] }\n');
    const repo = join(userHome, 'src', 'app');
    mkdirSync(repo, { recursive: true });
    const asUser = { HOME: userHome };
    expect(findProjectDir(repo, asUser)).toBeNull();
    expect(findProjectDir(userHome, asUser)).toBeNull();
    // With LOOM_HOME elsewhere, ~/.loom is an ordinary folder, and a project there is found.
    expect(findProjectDir(repo, { HOME: userHome, LOOM_HOME: home })).toBe(userHome);
    // The user config is read once, not again as a project's.
    expect(loadConfig(userHome, asUser).sources).toEqual([join(userHome, '.loom', 'config.yaml'), 'environment']);
    // The repository's own project is found, above or at it.
    write(join(repo, '.loom'), 'project: { id: prj-abc, name: demo }\n');
    expect(findProjectDir(join(repo, 'lib'), asUser)).toBe(repo);
  });

  describe('the serve section: token from a file or LOOM_TOKEN (the variable wins), where it came from', () => {
    it('defaults: no token, 127.0.0.1:7411', () => {
      expect(loadConfig(project, env()).serve).toEqual({ token: null, token_source: null, tokens: [], host: '127.0.0.1', port: 7411 });
    });

    it('takes the token from the user file, the project file over it, and LOOM_TOKEN over both; host and port key by key', () => {
      write(home, 'serve:\n  token: user-token-0123456789\n  host: 0.0.0.0\n');
      expect(loadConfig(project, env()).serve).toEqual({ token: 'user-token-0123456789', token_source: join(home, 'config.yaml'), tokens: [], host: '0.0.0.0', port: 7411 });
      write(join(project, '.loom'), 'serve:\n  token: project-token-0123456789\n  port: 8080\n');
      expect(loadConfig(project, env()).serve).toEqual({
        token: 'project-token-0123456789',
        token_source: join(project, '.loom', 'config.yaml'),
        tokens: [],
        host: '0.0.0.0',
        port: 8080,
      });
      expect(loadConfig(project, env({ LOOM_TOKEN: 'env-token-0123456789abc' })).serve).toMatchObject({ token: 'env-token-0123456789abc', token_source: 'LOOM_TOKEN', port: 8080 });
    });

    it('named tokens (serve.tokens, by hash) add up across the files; the same name: the later file; no token itself is needed', () => {
      const h = (c: string) => c.repeat(64);
      write(home, `serve:\n  tokens:\n    - { name: alice, sha256: ${h('a')} }\n    - { name: bob, sha256: ${h('b')} }\n`);
      write(join(project, '.loom'), `serve:\n  tokens:\n    - { name: bob, sha256: ${h('c')} }\n    - { name: ci.runner-1, sha256: ${h('d')} }\n`);
      expect(loadConfig(project, env()).serve).toMatchObject({
        token: null,
        tokens: [
          { name: 'alice', sha256: h('a') },
          { name: 'bob', sha256: h('c') },
          { name: 'ci.runner-1', sha256: h('d') },
        ],
      });
    });

    it('refuses a named token twice in one file, a bad name or a hash that is not 64 hex digits, naming the file', () => {
      const file = join(project, '.loom', 'config.yaml');
      for (const [text, says] of [
        [`serve:\n  tokens:\n    - { name: bob, sha256: ${'a'.repeat(64)} }\n    - { name: bob, sha256: ${'b'.repeat(64)} }\n`, 'serve.tokens names "bob" twice'],
        [`serve:\n  tokens:\n    - { name: Bob, sha256: ${'a'.repeat(64)} }\n`, 'serve.tokens'],
        [`serve:\n  tokens:\n    - { name: ../bob, sha256: ${'a'.repeat(64)} }\n`, 'serve.tokens'],
        [`serve:\n  tokens:\n    - { name: bob, sha256: ${'A'.repeat(64)} }\n`, 'serve.tokens'],
        [`serve:\n  tokens:\n    - { name: bob, sha256: the-token-itself-0123456789 }\n`, 'serve.tokens'],
        [`serve:\n  tokens:\n    - { name: bob }\n`, 'serve.tokens'],
        [`serve:\n  tokens:\n    - { name: bob, sha256: ${'a'.repeat(64)}, __proto__: { x: 1 } }\n`, 'serve.tokens'],
      ] as const) {
        write(join(project, '.loom'), text);
        expect(() => loadConfig(project, env()), text).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining(says) }));
        expect(() => loadConfig(project, env())).toThrow(expect.objectContaining({ message: expect.stringContaining(file) }));
      }
    });

    it('refuses a short or spaced token, a bad port and unknown keys, naming the file and key', () => {
      write(join(project, '.loom'), 'serve:\n  token: short\n');
      expect(() => loadConfig(project, env())).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(/\.loom\/config\.yaml.*serve\.token/) }));
      write(join(project, '.loom'), 'serve:\n  port: 70000\n');
      expect(() => loadConfig(project, env())).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('serve.port') }));
      write(join(project, '.loom'), 'serve:\n  tokn: abcdefghijklmnopqrstuvwxyz\n');
      expect(() => loadConfig(project, env())).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('tokn') }));
      rmSync(join(project, '.loom'), { recursive: true });
      for (const bad of ['short', 'has a space in it 0123456789']) {
        expect(() => loadConfig(project, env({ LOOM_TOKEN: bad }))).toThrow(
          expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('LOOM_TOKEN'), hint: expect.stringContaining('--new-token') }),
        );
      }
    });
  });
});
