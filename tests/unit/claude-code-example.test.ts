import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ALL_TOOLS } from '../../src/adapters/mcp/tools/index.js';
import { writeAgentsMd, writeMcpJson } from '../../src/app/claude-code-setup.js';

/** examples/claude-code shows what `loom init` writes: it must not drift from it, nor name tools that do not exist. */
const DIR = fileURLToPath(new URL('../../examples/claude-code/', import.meta.url));
const read = (name: string) => readFileSync(join(DIR, name), 'utf8');

describe('examples/claude-code', () => {
  it('has the .mcp.json and the AGENTS.md section that loom init writes', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'loom-cc-example-'));
    try {
      cpSync(DIR, tmp, { recursive: true });
      expect(writeMcpJson(tmp, { command: 'loom', args: ['mcp'] })).toBe('unchanged');
      expect(writeAgentsMd(tmp)).toBe('unchanged');
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it('names only MCP tools that exist', () => {
    const known = new Set(ALL_TOOLS.map((t) => t.name));
    const named = new Set(['AGENTS.md', 'CLAUDE.md', 'README.md'].flatMap((f) => read(f).match(/\bloom_[a-z_]+/g) ?? []));
    expect(named.size).toBeGreaterThan(10);
    expect([...named].filter((n) => !known.has(n))).toEqual([]);
  });
});
