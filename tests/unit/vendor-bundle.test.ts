/**
 * The built code imports inversify as `#inversify` and the MCP SDK's server side as `#mcp-sdk` (its
 * HTTP transport as `#mcp-sdk-http`): package.json "imports" maps those to dist/src/vendor/inversify.js,
 * mcp-sdk.js and mcp-sdk-http.js (the last two share chunks under vendor/chunks/), the bundles
 * scripts/bundle-vendor.mjs makes of the installed packages at `npm run build` (Node loads
 * their hundreds of small modules one by one otherwise: ~0.2 s of every daemon start, and of every
 * `loom mcp`). The tests themselves import the packages (vitest's aliases), so these checks hold
 * each bundle to them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import * as installedInversify from 'inversify';
import * as installedMcpHttp from '../../scripts/vendor/mcp-sdk-http.js';
import * as installedMcp from '../../scripts/vendor/mcp-sdk.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const VENDOR = join(ROOT, 'dist/src/vendor');
const require = createRequire(join(ROOT, 'package.json'));

const installedVersion = (name: string): string => (JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;

function builtFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? builtFiles(join(dir, e.name)) : e.name.endsWith('.js') ? [join(dir, e.name)] : []));
}

/** The name@version pairs a bundle's banner says it was made from. */
function bannerPackages(text: string): Array<{ name: string; version: string }> {
  const banner = text.slice(0, text.indexOf('*/'));
  return [...banner.matchAll(/((?:@[\w.-]+\/)?[\w.-]+)@(\d+\.\d+\.\d+[\w.+-]*)/g)].map((m) => ({ name: m[1]!, version: m[2]! }));
}

const BUNDLES = [
  {
    specifier: '#inversify',
    file: join(VENDOR, 'inversify.js'),
    installed: installedInversify as Record<string, unknown>,
    // The packages the bundle must hold (it may hold their own dependencies too).
    packages: ['inversify', '@inversifyjs/core', '@inversifyjs/container', '@inversifyjs/common'],
    // Whose run-time imports must go through the bundle.
    pattern: /from ['"](inversify|@inversifyjs\/[^'"]*)['"]|import\(['"](inversify|@inversifyjs)/,
    minUsers: 6,
  },
  {
    specifier: '#mcp-sdk',
    file: join(VENDOR, 'mcp-sdk.js'),
    installed: installedMcp as Record<string, unknown>,
    packages: ['@modelcontextprotocol/sdk', 'zod', 'ajv'],
    // The server side only: the demo's client (demo-main.ts) imports the package's client itself.
    pattern: /(from|import\()\s*['"]@modelcontextprotocol\/sdk\/(?!client\/)[^'"]*['"]/,
    minUsers: 6,
  },
  {
    specifier: '#mcp-sdk-http',
    file: join(VENDOR, 'mcp-sdk-http.js'),
    installed: installedMcpHttp as Record<string, unknown>,
    packages: ['@modelcontextprotocol/sdk', 'hono', '@hono/node-server'],
    pattern: /(from|import\()\s*['"](hono|@hono\/node-server)(\/[^'"]*)?['"]/,
    minUsers: 1,
  },
];

describe.each(BUNDLES)('the bundled $specifier', (b) => {
  const text = readFileSync(b.file, 'utf8');

  it('is made from the installed versions (else: npm run build)', () => {
    const held = bannerPackages(text);
    for (const name of b.packages) expect(held.map((p) => p.name), `${name} is not in the bundle`).toContain(name);
    for (const { name, version } of held) {
      expect(version, `${name} was updated since the last build: run npm run build`).toBe(installedVersion(name));
    }
  });

  it('ships the licence of every package it holds', () => {
    const licences = readFileSync(join(VENDOR, 'LICENSES.txt'), 'utf8');
    for (const { name, version } of bannerPackages(text)) expect(licences).toMatch(new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}@${version} \\(.+\\)\\n-+\\n\\S`, 'm'));
  });

  it('exports what the package exports', async () => {
    const bundled = (await import(pathToFileURL(b.file).href)) as Record<string, unknown>;
    expect(Object.keys(bundled).sort()).toEqual(Object.keys(b.installed).sort());
  });

  it('imports nothing but Node built-ins and the chunks it shares: its packages are all in it', () => {
    const importsOf = (code: string): string[] => [...code.matchAll(/^\s*import\s[^'"]*['"]([^'"]+)['"]/gm)].map((m) => m[1]!);
    const notBuiltIn = (file: string, code: string) => importsOf(code).filter((s) => !s.startsWith('node:') && !builtinModules.includes(s) && !(s.startsWith('./chunks/') && file === b.file) && !(s.startsWith('./') && file !== b.file));
    const chunks = importsOf(text).filter((s) => s.startsWith('./chunks/')).map((s) => join(VENDOR, s));
    for (const [file, code] of [[b.file, text], ...chunks.map((c) => [c, readFileSync(c, 'utf8')])] as const) {
      expect(notBuiltIn(file, code), file).toEqual([]);
      const lines = code.split('\n').filter((line) => !/^\s*(\*|\/\/|\/\*)/.test(line)); // not JSDoc's {import('...').Type}
      expect(lines.filter((line) => /\bimport\(['"](?!node:)/.test(line)), file).toEqual([]);
    }
  });

  it(`is what the package maps ${b.specifier} to, and no built module imports the packages itself`, () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { imports: Record<string, string> };
    expect(require.resolve(b.specifier)).toBe(join(ROOT, pkg.imports[b.specifier]!));
    expect(join(ROOT, pkg.imports[b.specifier]!)).toBe(b.file);
    const built = builtFiles(join(ROOT, 'dist/src')).filter((f) => !f.startsWith(VENDOR));
    const offenders = built.filter((f) => b.pattern.test(readFileSync(f, 'utf8')));
    expect(offenders.map((f) => f.slice(ROOT.length))).toEqual([]);
    const users = built.filter((f) => new RegExp(`from '${b.specifier}'|import\\('${b.specifier}'\\)`).test(readFileSync(f, 'utf8')));
    expect(users.length).toBeGreaterThanOrEqual(b.minUsers);
  });
});

describe('what the bundles hold works', () => {
  it('#inversify: a container built from the bundle resolves a binding', async () => {
    const bundled = (await import(pathToFileURL(join(VENDOR, 'inversify.js')).href)) as typeof installedInversify;
    const c = new bundled.Container();
    const token = Symbol('greeting');
    c.load(new bundled.ContainerModule((o) => void o.bind(token).toConstantValue('hello')));
    expect(c.get(token)).toBe('hello');
  });

  it("#mcp-sdk: the bundle's Server answers initialize and tools/list, and checks requests with its own zod", async () => {
    const bundled = (await import(pathToFileURL(join(VENDOR, 'mcp-sdk.js')).href)) as typeof installedMcp;
    const { InMemoryTransport } = await import('@modelcontextprotocol/sdk/inMemory.js');
    const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
    const server = new bundled.Server({ name: 'bundle-check', version: '1.0.0' }, { capabilities: { tools: {} } });
    server.setRequestHandler(bundled.ListToolsRequestSchema, async () => ({ tools: [{ name: 'echo', inputSchema: { type: 'object' } }] }));
    const [a, b] = InMemoryTransport.createLinkedPair();
    await server.connect(a);
    const client = new Client({ name: 'check', version: '1.0.0' });
    await client.connect(b);
    expect(client.getServerVersion()).toMatchObject({ name: 'bundle-check' });
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['echo']);
    // A request the bundle's schemas refuse: tools/call with no handler is MethodNotFound, coded.
    await expect(client.callTool({ name: 'echo', arguments: {} })).rejects.toMatchObject({ code: bundled.ErrorCode.MethodNotFound });
    expect(bundled.isInitializeRequest({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } })).toBe(true);
    expect(bundled.isInitializeRequest({ jsonrpc: '2.0', id: 1, method: 'initialize', params: {} })).toBe(false);
    await client.close();
  });

  it("#mcp-sdk-http: the bundle's Streamable HTTP transport is `loom mcp`'s no more, and serves a Server from #mcp-sdk", async () => {
    expect(readFileSync(join(VENDOR, 'mcp-sdk.js'), 'utf8')).not.toMatch(/node_modules\/(@hono|hono)\//);
    const core = (await import(pathToFileURL(join(VENDOR, 'mcp-sdk.js')).href)) as typeof installedMcp;
    const http = (await import(pathToFileURL(join(VENDOR, 'mcp-sdk-http.js')).href)) as typeof installedMcpHttp;
    const server = new core.Server({ name: 'bundle-check', version: '1.0.0' }, { capabilities: { tools: {} } });
    const transport = new http.StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    await server.connect(transport);
    expect(server.transport).toBe(transport); // loom serve's own requests: tests/e2e/serve.e2e.test.ts
    await server.close();
    expect(server.transport).toBeUndefined();
  });
});
