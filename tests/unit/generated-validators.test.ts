/**
 * Validators compiled ahead of time (ajv standalone code) stay what their
 * schemas compile to today. A CLI process reads its config as it starts, and
 * compiling the config schema then cost ~100 ms of CPU per command; the
 * compiled code is in src/, generated from the schema by this test:
 *
 *   LOOM_WRITE_GENERATED=1 npx vitest run tests/unit/generated-validators.test.ts
 *
 * rewrites the files; without it the test fails while a file differs.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import standalone from 'ajv/dist/standalone/index.js';
import { describe, expect, it } from 'vitest';
import { CONFIG_SCHEMA } from '../../src/app/config-schema.js';
import { validateConfigFile } from '../../src/app/config-validator.generated.js';
import { API_SCHEMAS, USAGE_SCHEMA } from '../../src/app/schemas.js';
import { ALL_TOOLS } from '../../src/adapters/mcp/tools/index.js';
import { validatorName } from '../../src/adapters/mcp/validation.js';

const AJV_VERSION = (JSON.parse(readFileSync(fileURLToPath(new URL('../../node_modules/ajv/package.json', import.meta.url)), 'utf8')) as { version: string }).version;

/**
 * The module text: ajv's ESM standalone code, whose runtime helpers are `require`d, given a
 * `require`. `schemas` maps each export's name to its schema.
 */
function generate(schemas: Record<string, object>, from: string): string {
  const ajv = new Ajv({ allErrors: true, strict: true, code: { source: true, esm: true, lines: true } });
  const refs: Record<string, string> = {};
  for (const [name, schema] of Object.entries(schemas)) {
    if (!/^[a-z][A-Za-z0-9]*$/.test(name)) throw new Error(`${name} is not a plain export name`);
    ajv.addSchema(schema, name);
    refs[name] = name;
  }
  const body = standalone.default(ajv, refs).replace(/^"use strict";/, '');
  const exported = [...body.matchAll(/^export const (\w+) = \w+;$/gm)].map((m) => m[1]);
  if (exported.sort().join() !== Object.keys(schemas).sort().join() || /export default/.test(body)) throw new Error('ajv standalone output changed shape: see generate()');
  return [
    '// @ts-nocheck',
    `// Generated from ${from} by ajv ${AJV_VERSION} (standalone code): do not edit.`,
    '// tests/unit/generated-validators.test.ts fails while this differs from what the schema compiles to;',
    '// LOOM_WRITE_GENERATED=1 npx vitest run tests/unit/generated-validators.test.ts rewrites it.',
    "import { createRequire } from 'node:module';",
    'const require = createRequire(import.meta.url);',
    body.trim(),
    '',
  ].join('\n');
}

const GENERATED: { file: string; schemas: Record<string, object>; from: string }[] = [
  { file: '../../src/app/config-validator.generated.ts', schemas: { validateConfigFile: CONFIG_SCHEMA }, from: 'CONFIG_SCHEMA (src/app/config-schema.ts)' },
  { file: '../../src/app/api-validators.generated.ts', schemas: { ...API_SCHEMAS, usageReport: USAGE_SCHEMA }, from: 'API_SCHEMAS and USAGE_SCHEMA (src/app/schemas.ts), one export per method' },
  {
    file: '../../src/adapters/mcp/tool-validators.generated.ts',
    schemas: Object.fromEntries(ALL_TOOLS.map((t) => [validatorName(t.name), t.inputSchema])),
    from: "each MCP tool's inputSchema (src/adapters/mcp/tools/), one export per tool (loom_ready: loomReady)",
  },
];

describe('validators compiled ahead of time', () => {
  for (const g of GENERATED) {
    it(`${g.file.replace('../../', '')} is what ${g.from} compiles to`, () => {
      const path = fileURLToPath(new URL(g.file, import.meta.url));
      const want = generate(g.schemas, g.from);
      if (process.env.LOOM_WRITE_GENERATED === '1') writeFileSync(path, want);
      expect(readFileSync(path, 'utf8'), `run LOOM_WRITE_GENERATED=1 npx vitest run tests/unit/generated-validators.test.ts`).toBe(want);
    });
  }

  it('the compiled config validator answers as ajv does, errors and all', () => {
    const fresh = new Ajv({ allErrors: true, strict: true }).compile(CONFIG_SCHEMA);
    const samples: unknown[] = [
      {},
      { project: { id: 'demo', name: 'Demo', store: 'embedded' } },
      { project: { id: 'Bad Id', name: '' }, unknown: 1 },
      { tasks: { max_attempts: 0, retry: { base_ms: 1.5, factor: 0.5 } }, redis: { key_prefix: 'a b' } },
      { plugins: { trust: ['a', 'a'], paths: [''] }, mcp: { tools: [] }, serve: { port: 70000, token: 'short' } },
      { database_url: 'mysql://x', notifications: { nope: true } },
      [],
      'text',
    ];
    for (const s of samples) {
      const ok = fresh(s);
      expect(validateConfigFile(s)).toBe(ok);
      expect((validateConfigFile as unknown as { errors: unknown }).errors ?? null).toEqual(fresh.errors ?? null);
    }
  });

  it('the compiled API validators answer as ajv does, for every method, errors and all', async () => {
    const generated = (await import('../../src/app/api-validators.generated.js')) as unknown as Record<string, Compiled>;
    const schemas: Record<string, object> = { ...API_SCHEMAS, usageReport: USAGE_SCHEMA };
    expectAsAjv(generated, schemas, [
      {},
      [],
      'text',
      null,
      { project_id: 'prj-1', unknown_field: 1 },
      { project_id: 'Bad Id', task_id: 'not-a-task', agent_id: '', lease_token: 5, count: -1, title: '', priority: 9, labels: ['A B', 'A B'] },
      { project_id: 'prj-1', __proto__: { polluted: true }, tasks: [{ title: 'x'.repeat(10), depends_on: ['loom-zz'] }] },
      { project_id: 'prj-1', title: 'ok', context: { a: { b: { c: [1, 2, { d: null }] } } } },
    ]);
  });

  it('the compiled MCP tool validators answer as ajv does, for every tool, errors and all', async () => {
    const generated = (await import('../../src/adapters/mcp/tool-validators.generated.js')) as unknown as Record<string, Compiled>;
    expectAsAjv(generated, Object.fromEntries(ALL_TOOLS.map((t) => [validatorName(t.name), t.inputSchema])), [
      {},
      [],
      'text',
      null,
      { unknown_field: 1 },
      { task_id: 'not-a-task', lease_token: 5, lease_seconds: 0, limit: -1, title: '', priority: 'p9', labels: ['A B', 'A B'], count: 1.5 },
      { task_id: 'loom-1a2b3c4d', __proto__: { polluted: true }, tasks: [{ title: 'x'.repeat(10), depends_on: ['loom-zz'] }] },
      { title: 'ok', context: { a: { b: { c: [1, 2, { d: null }] } } }, output: { deep: [[[[]]]] } },
      { task_id: 'loom-1a2b3c4d', output: 'text', reason: 'x', message: 'y', to: 'agent-1', name: 'skill', arguments: { a: 1 } },
    ]);
  });
});

type Compiled = ((d: unknown) => boolean) & { errors?: unknown };

/** Every export of a generated module answers each input as a fresh ajv compile of its schema does, errors and all. */
function expectAsAjv(generated: Record<string, Compiled>, schemas: Record<string, object>, inputs: unknown[]): void {
  const ajv = new Ajv({ allErrors: true, strict: true });
  expect(Object.keys(generated).sort()).toEqual(Object.keys(schemas).sort());
  for (const [name, schema] of Object.entries(schemas)) {
    const fresh = ajv.compile(schema);
    for (const s of inputs) {
      expect(generated[name]!(s), `${name} ${JSON.stringify(s)}`).toBe(fresh(s));
      expect(generated[name]!.errors ?? null, `${name} ${JSON.stringify(s)}`).toEqual(fresh.errors ?? null);
    }
  }
}
