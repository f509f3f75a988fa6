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

const AJV_VERSION = (JSON.parse(readFileSync(fileURLToPath(new URL('../../node_modules/ajv/package.json', import.meta.url)), 'utf8')) as { version: string }).version;

/** The module text: ajv's ESM standalone code, whose runtime helpers are `require`d, given a `require`. */
function generate(schema: object, exportName: string, from: string): string {
  const ajv = new Ajv({ allErrors: true, strict: true, code: { source: true, esm: true, lines: true } });
  const code = standalone.default(ajv, ajv.compile(schema));
  const body = code
    .replace(/^"use strict";/, '')
    .replace(/export const validate = (\w+);/, `export const ${exportName} = $1;`)
    .replace(/export default \w+;/, '');
  if (!body.includes(`export const ${exportName} = `) || /export default/.test(body)) throw new Error('ajv standalone output changed shape: see generate()');
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

const GENERATED = [
  { file: '../../src/app/config-validator.generated.ts', schema: CONFIG_SCHEMA, exportName: 'validateConfigFile', from: 'CONFIG_SCHEMA (src/app/config-schema.ts)' },
];

describe('validators compiled ahead of time', () => {
  for (const g of GENERATED) {
    it(`${g.file.replace('../../', '')} is what ${g.from} compiles to`, () => {
      const path = fileURLToPath(new URL(g.file, import.meta.url));
      const want = generate(g.schema, g.exportName, g.from);
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
});
