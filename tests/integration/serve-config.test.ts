/** The `serve` config section: token from a file or LOOM_TOKEN (the variable wins), where it came from, and errors naming file and key. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/app/config.js';

describe('serve config', () => {
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

  it('defaults: no token, 127.0.0.1:7411', () => {
    expect(loadConfig(project, env()).serve).toEqual({ token: null, token_source: null, host: '127.0.0.1', port: 7411 });
  });

  it('takes the token from the user file, the project file over it, and LOOM_TOKEN over both; host and port key by key', () => {
    write(home, 'serve:\n  token: user-token-0123456789\n  host: 0.0.0.0\n');
    expect(loadConfig(project, env()).serve).toEqual({ token: 'user-token-0123456789', token_source: join(home, 'config.yaml'), host: '0.0.0.0', port: 7411 });
    write(join(project, '.loom'), 'serve:\n  token: project-token-0123456789\n  port: 8080\n');
    expect(loadConfig(project, env()).serve).toEqual({
      token: 'project-token-0123456789',
      token_source: join(project, '.loom', 'config.yaml'),
      host: '0.0.0.0',
      port: 8080,
    });
    expect(loadConfig(project, env({ LOOM_TOKEN: 'env-token-0123456789abc' })).serve).toMatchObject({ token: 'env-token-0123456789abc', token_source: 'LOOM_TOKEN', port: 8080 });
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
