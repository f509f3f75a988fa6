/**
 * `loom init` wires Claude Code into a project: the `loom` server in
 * `.mcp.json` (merged, never clobbering other servers) and a Loom section in
 * AGENTS.md (between markers, never duplicated), however often it runs. A
 * malformed `.mcp.json` is refused and left as it was. The entry written is
 * what Claude Code will spawn, so the test spawns it too.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { LOOM_BIN, loom, loomJson, ROOT } from '../support/loom-cli.js';

const BEGIN = '<!-- loom:begin';
const END = '<!-- loom:end -->';
const OTHER_SERVER = { command: 'npx', args: ['-y', '@acme/other-mcp', '--port', '0'], env: { ACME_TOKEN: 'x' } };

const count = (text: string, needle: string): number => text.split(needle).length - 1;
const readJson = (path: string): any => JSON.parse(readFileSync(path, 'utf8'));

/** Spawns `.mcp.json`'s loom entry as Claude Code would (in the project directory) and lists its tools. */
async function toolsServedBy(dir: string, env: Record<string, string>): Promise<string[]> {
  const entry = readJson(join(dir, '.mcp.json')).mcpServers.loom as { command: string; args: string[] };
  const transport = new StdioClientTransport({
    command: entry.command,
    args: entry.args,
    cwd: dir,
    env: { ...(process.env as Record<string, string>), LOOM_DATABASE_URL: '', LOOM_PROJECT_DIR: '', ...env },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const client = new Client({ name: 'claude-code', version: '0.0.0-e2e' });
  try {
    await client.connect(transport);
    const { tools } = await client.listTools();
    // And it is wired to this project: a real call answers.
    const ready = await client.callTool({ name: 'loom_ready', arguments: {} });
    if (ready.isError === true) throw new Error(`loom_ready failed: ${JSON.stringify(ready.content)}\n${stderr}`);
    return tools.map((t) => t.name);
  } finally {
    await client.close();
  }
}

describe('loom init wires Claude Code into an existing project (embedded)', () => {
  let dir: string;
  const env = { LOOM_DAEMON_IDLE_SECONDS: '60' };
  const ownAgentsText = '# Agents\n\nOur own rules: run `make check` before every commit.\n';

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'loom-init-cc-'));
    writeFileSync(join(dir, '.mcp.json'), `${JSON.stringify({ mcpServers: { other: OTHER_SERVER }, $comment: 'kept' }, null, 2)}\n`);
    writeFileSync(join(dir, 'AGENTS.md'), ownAgentsText);
  });
  afterAll(async () => {
    await loom(dir, ['daemon', 'stop'], env);
    rmSync(dir, { recursive: true, force: true });
  });

  it('run twice: one loom entry in .mcp.json, the other server untouched', async () => {
    const first = await loomJson(dir, ['init', '--name', 'init-cc'], env);
    expect(first.created).toBe(true);
    expect(first.claude_code).toEqual({ mcp_json: 'updated', mcp_portable: false, loom_dir: ROOT, agents_md: 'updated' });
    const afterFirst = readFileSync(join(dir, '.mcp.json'), 'utf8');

    const second = await loomJson(dir, ['init'], env);
    expect(second.created).toBe(false);
    expect(second.claude_code).toEqual({ mcp_json: 'unchanged', mcp_portable: false, loom_dir: ROOT, agents_md: 'unchanged' });
    const text = readFileSync(join(dir, '.mcp.json'), 'utf8');
    expect(text).toBe(afterFirst);

    const config = JSON.parse(text);
    expect(Object.keys(config.mcpServers).sort()).toEqual(['loom', 'other']);
    expect(count(text, '"loom"')).toBe(1); // not a duplicate key either
    expect(config.mcpServers.other).toEqual(OTHER_SERVER);
    expect(config.$comment).toBe('kept');
    // No `loom` of this install on the test's PATH: node with this install's absolute path.
    expect(config.mcpServers.loom).toEqual({ command: process.execPath, args: [realpathSync(LOOM_BIN), 'mcp'] });
  });

  it('AGENTS.md keeps its own text and holds exactly one Loom section however often init runs', async () => {
    const once = readFileSync(join(dir, 'AGENTS.md'), 'utf8');
    expect(once.startsWith(ownAgentsText.trimEnd())).toBe(true);
    expect(count(once, BEGIN)).toBe(1);
    expect(count(once, END)).toBe(1);
    expect(once.indexOf(BEGIN)).toBeLessThan(once.indexOf(END));
    const section = once.slice(once.indexOf(BEGIN), once.indexOf(END));
    expect(section).toContain('loom_claim');
    expect(section).toMatch(/loom done \S+ .*--output/);

    // The team writes more after Loom's section, and someone edits inside it; init runs again and again.
    writeFileSync(join(dir, 'AGENTS.md'), `${once.replace('loom_inbox', 'loom_inbox (edited by hand)')}\n## Release\nTag from main only.\n`);
    for (let i = 0; i < 3; i++) await loomJson(dir, ['init'], env);
    const text = readFileSync(join(dir, 'AGENTS.md'), 'utf8');
    expect(text.startsWith(ownAgentsText.trimEnd())).toBe(true);
    expect(text).toContain('## Release\nTag from main only.\n');
    expect(count(text, BEGIN)).toBe(1);
    expect(count(text, END)).toBe(1);
    expect(text).not.toContain('(edited by hand)'); // the section is Loom's, refreshed
    expect(text.slice(text.indexOf(BEGIN), text.indexOf(END))).toBe(section);
    expect(count(text, 'Our own rules')).toBe(1);
  });

  it('init in a folder inside the project says a new project now takes over there, and how to go back', async () => {
    const outer = await loomJson(dir, ['status'], env);
    const sub = join(dir, 'packages', 'api');
    mkdirSync(sub, { recursive: true });
    expect((await loomJson(sub, ['status'], env)).project.id).toBe(outer.project.id); // found in the folder above

    const text = await loom(sub, ['init'], env);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`note    this folder is inside project init-cc (${outer.project.id}) of ${dir}: loom commands and sessions here now use the new project`);
    expect(text.stdout).toContain(`\`loom daemon stop\`, then remove ${join(sub, '.loom')} (it holds nothing yet)`);
    const again = await loomJson(sub, ['init'], env);
    expect(again.created).toBe(false);
    expect(again.enclosing).toBeUndefined(); // said once, when it was made
    expect((await loomJson(sub, ['status'], env)).project.id).toBe(again.project.id);
    expect(again.project.id).not.toBe(outer.project.id);
    await loom(sub, ['daemon', 'stop'], env);
    rmSync(join(dir, 'packages'), { recursive: true, force: true });
  });

  it("the .mcp.json entry, spawned over stdio in the project, serves the loom tools", async () => {
    const names = await toolsServedBy(dir, env);
    expect(names).toContain('loom_claim');
    expect(names).toEqual(expect.arrayContaining(['loom_ready', 'loom_done', 'loom_create']));
  });

  it('a malformed .mcp.json: exit 1 with CONFIG_INVALID, the file left byte for byte', async () => {
    const broken = Buffer.from('{\n  "mcpServers": {\n    "other": { "command": "x", }\n', 'utf8');
    writeFileSync(join(dir, '.mcp.json'), broken);
    const r = await loom(dir, ['init'], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^CONFIG_INVALID: .*\.mcp\.json/m);
    expect(r.stderr).toMatch(/hint: /);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(readFileSync(join(dir, '.mcp.json')).equals(broken)).toBe(true);

    // Valid JSON that is not an object is refused the same way.
    const array = Buffer.from('[1, 2]\n');
    writeFileSync(join(dir, '.mcp.json'), array);
    const r2 = await loom(dir, ['init', '--json'], env);
    expect(r2.code).toBe(1);
    expect(JSON.parse(r2.stdout).error).toMatchObject({ code: 'CONFIG_INVALID', hint: expect.stringContaining('loom init') });
    expect(readFileSync(join(dir, '.mcp.json')).equals(array)).toBe(true);
  });
});

describe('loom init in a fresh directory (server mode)', () => {
  let db: TestDatabase;
  const dirs: string[] = [];
  const fresh = (): string => {
    const d = mkdtempSync(join(tmpdir(), 'loom-init-cc-server-'));
    dirs.push(d);
    return d;
  };
  beforeAll(async () => {
    db = await createTestDatabase('init_cc');
  });
  afterAll(async () => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    await db?.drop();
  });

  it('a malformed .mcp.json in a new project: exit 1 with CONFIG_INVALID, the file left byte for byte', async () => {
    const dir = fresh();
    const broken = Buffer.from('{"mcpServers": {"other": {"command": "x"}}', 'utf8');
    writeFileSync(join(dir, '.mcp.json'), broken);
    const r = await loom(dir, ['init'], { LOOM_DATABASE_URL: db.url });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^CONFIG_INVALID: /m);
    expect(readFileSync(join(dir, '.mcp.json')).equals(broken)).toBe(true);

    // Fixed by hand, as the hint says: init completes and merges the entry.
    writeFileSync(join(dir, '.mcp.json'), '{"mcpServers": {"other": {"command": "x"}}}');
    const again = await loomJson(dir, ['init'], { LOOM_DATABASE_URL: db.url });
    expect(again.claude_code.mcp_json).toBe('updated');
    expect(Object.keys(readJson(join(dir, '.mcp.json')).mcpServers).sort()).toEqual(['loom', 'other']);
  });

  it('with `loom` on the PATH the entry is plain `loom mcp`, and it serves the tools', async () => {
    const dir = fresh();
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    symlinkSync(LOOM_BIN, join(bin, 'loom'));
    const env = { LOOM_DATABASE_URL: db.url, PATH: `${bin}${delimiter}${process.env.PATH ?? ''}` };
    const first = await loomJson(dir, ['init'], env);
    expect(first.claude_code.mcp_json).toBe('created');
    expect(readJson(join(dir, '.mcp.json'))).toEqual({ mcpServers: { loom: { command: 'loom', args: ['mcp'] } } });
    expect((await loomJson(dir, ['init'], env)).claude_code.mcp_json).toBe('unchanged');
    expect(await toolsServedBy(dir, env)).toContain('loom_claim');
  });

  it('in a project that depends on loom-agents the entry is `npx --no loom mcp` (it works in a teammate\'s clone), and it serves the tools', async () => {
    const dir = fresh();
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'team-app', private: true, devDependencies: { 'loom-agents': '^0.1.0' } }));
    // As npm installs it: node_modules/loom-agents and its bin linked into node_modules/.bin.
    mkdirSync(join(dir, 'node_modules', '.bin'), { recursive: true });
    symlinkSync(ROOT, join(dir, 'node_modules', 'loom-agents'));
    symlinkSync(join('..', 'loom-agents', 'bin', 'loom.js'), join(dir, 'node_modules', '.bin', 'loom'));
    const env = { LOOM_DATABASE_URL: db.url };
    const first = await loomJson(dir, ['init'], env);
    expect(first.claude_code).toEqual(expect.objectContaining({ mcp_json: 'created', mcp_portable: true }));
    expect(readJson(join(dir, '.mcp.json'))).toEqual({ mcpServers: { loom: { command: 'npx', args: ['--no', 'loom', 'mcp'] } } });
    expect(JSON.stringify(readJson(join(dir, '.mcp.json')))).not.toContain(ROOT); // nothing of this machine
    expect(await toolsServedBy(dir, env)).toContain('loom_claim');
  });

  it('without either, init says the .mcp.json is not portable and how to make it so', async () => {
    const dir = fresh();
    const r = await loom(dir, ['init'], { LOOM_DATABASE_URL: db.url });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("names this machine's node and Loom");
    // loom-agents is not on the npm registry: the fix names this Loom's folder, where `npm link` works
    expect(r.stdout).toContain(`put loom on the PATH (\`npm link\` in ${ROOT};`);
    expect(r.stdout).not.toContain('npm i -D loom-agents');
    expect((await loomJson(dir, ['init'], { LOOM_DATABASE_URL: db.url })).claude_code).toEqual(expect.objectContaining({ mcp_portable: false, loom_dir: ROOT }));
  });
});

describe('the home folder is not a project', () => {
  let home: string;
  beforeAll(() => {
    home = mkdtempSync(join(tmpdir(), 'loom-home-'));
    // A user config, as `loom plugins trust` writes it: ~/.loom/config.yaml looks like a project's config.
    mkdirSync(join(home, '.loom'));
    writeFileSync(join(home, '.loom', 'config.yaml'), 'plugins: { trust: [] }\n');
    mkdirSync(join(home, 'src', 'app'), { recursive: true });
  });
  afterAll(() => rmSync(home, { recursive: true, force: true }));
  const env = () => ({ HOME: home, LOOM_HOME: undefined, LOOM_DAEMON_IDLE_SECONDS: '60' });

  it('a command in a folder below it with no project says so, naming that folder, and starts nothing in ~/.loom', async () => {
    const app = join(home, 'src', 'app');
    const r = await loom(app, ['create', 'lost task'], env());
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`NO_PROJECT: no project here: run \`loom init\` (looked in ${app} and its parents)`);
    const doctor = await loom(app, ['doctor'], env());
    expect(doctor.stdout).toContain(`no .loom/config.yaml at or above ${app}`);
    expect(readdirSync(join(home, '.loom')).sort()).toEqual(['config.yaml']); // no database, no daemon
  });

  it('loom init there is refused, and writes nothing', async () => {
    const r = await loom(home, ['init'], env());
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`VALIDATION_FAILED: ${join(home, '.loom')} is your own Loom folder`);
    expect(readdirSync(home).sort()).toEqual(['.loom', 'src']);
    expect(readdirSync(join(home, '.loom')).sort()).toEqual(['config.yaml']);
    // In the repository's own folder it works, and commands below it find that project.
    const made = await loomJson(join(home, 'src'), ['init', '--name', 'mine'], env());
    expect((await loomJson(join(home, 'src', 'app'), ['status'], env())).project.id).toBe(made.project.id);
    await loom(join(home, 'src'), ['daemon', 'stop'], env());
  });
});
