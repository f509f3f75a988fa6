/**
 * A new embedded store starts from the machine's starting copy of a PGlite data directory
 * (pglite-template.ts) instead of running initdb: the first new store makes the copy, the
 * next ones load it, each still gets its own schema and store identity, an existing store
 * is opened as it is, and a copy that is broken or cannot be written never stops a store
 * from opening.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { openPglitePool, type PglitePool } from '../../src/adapters/embedded/pglite-pool.js';
import { pgliteTemplatePath, pgliteVersion, readTemplate } from '../../src/adapters/embedded/pglite-template.js';
import { migrate } from '../../src/adapters/postgres/migrator.js';

const dirs: string[] = [];
const temp = (prefix: string): string => {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
};
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function identity(p: PglitePool): Promise<string> {
  return (await p.pool.query<{ id: string }>('SELECT id FROM store_identity')).rows[0]!.id;
}

async function hasTasksTable(p: PglitePool): Promise<boolean> {
  return (await p.pool.query<{ t: string | null }>("SELECT to_regclass('tasks')::text AS t")).rows[0]!.t !== null;
}

describe('where the starting copy is kept', () => {
  it('under LOOM_CACHE_DIR, else XDG_CACHE_HOME/loom, else ~/.cache/loom, named by the PGlite version; LOOM_CACHE_DIR=none turns it off', () => {
    const version = pgliteVersion();
    expect(version).toMatch(/^\d+\.\d+\.\d+/);
    const name = `pglite-${version}-datadir.tar.gz`;
    expect(pgliteTemplatePath({ LOOM_CACHE_DIR: '/c', XDG_CACHE_HOME: '/x', HOME: '/h' })).toBe(join('/c', name));
    expect(pgliteTemplatePath({ XDG_CACHE_HOME: '/x', HOME: '/h' })).toBe(join('/x', 'loom', name));
    // a relative XDG_CACHE_HOME is invalid by the spec: ignored
    expect(pgliteTemplatePath({ XDG_CACHE_HOME: 'rel', HOME: '/h' })).toBe(join('/h', '.cache', 'loom', name));
    expect(pgliteTemplatePath({ LOOM_CACHE_DIR: '', HOME: '/h' })).toBe(join('/h', '.cache', 'loom', name));
    expect(pgliteTemplatePath({ LOOM_CACHE_DIR: 'none', HOME: '/h' })).toBeNull();
  });
});

describe('a new store from the starting copy', () => {
  const cache = temp('loom-template-cache-');
  const template = pgliteTemplatePath({ LOOM_CACHE_DIR: cache })!;
  const warnings: string[] = [];
  const warn = (line: string) => void warnings.push(line);
  const first = join(temp('loom-template-a-'), 'data');

  it('the first new store runs initdb and leaves the copy behind, taken before any migration', { timeout: 240_000 }, async () => {
    const p = await openPglitePool(first, { template, warn });
    try {
      expect(p.started).toBe('initdb');
      expect(statSync(template).size).toBeGreaterThan(100_000);
      expect(readdirSync(cache).filter((f) => f.endsWith('.tmp'))).toEqual([]); // written aside, then renamed
      await migrate(p.pool);
      await p.pool.query("INSERT INTO projects (id, name, created_at) VALUES ('prj-first', 'first', now())");
    } finally {
      await p.close();
    }
    expect(warnings).toEqual([]);
  });

  it('the next new store loads the copy: no schema of the first, an identity of its own', { timeout: 240_000 }, async () => {
    const second = join(temp('loom-template-b-'), 'data');
    const p = await openPglitePool(second, { template, warn });
    try {
      expect(p.started).toBe('template');
      expect(existsSync(join(second, 'PG_VERSION'))).toBe(true);
      expect(await hasTasksTable(p)).toBe(false);
      await migrate(p.pool);
      expect((await p.pool.query('SELECT count(*)::int AS n FROM projects')).rows[0]!.n).toBe(0);
      const mine = await identity(p);
      const again = await openPglitePool(first, { template, warn });
      try {
        expect(again.started).toBe('existing');
        expect(await identity(again)).not.toBe(mine);
        expect((await again.pool.query('SELECT name FROM projects')).rows).toEqual([{ name: 'first' }]);
      } finally {
        await again.close();
      }
    } finally {
      await p.close();
    }
    // the store made from the copy keeps its data across a reopen, as any store does
    const reopened = await openPglitePool(second, { template, warn });
    try {
      expect(reopened.started).toBe('existing');
      expect(await hasTasksTable(reopened)).toBe(true);
    } finally {
      await reopened.close();
    }
    expect(warnings).toEqual([]);
  });

  it('an in-memory store loads it too', { timeout: 240_000 }, async () => {
    const p = await openPglitePool(undefined, { template, warn });
    try {
      expect(p.started).toBe('template');
      await migrate(p.pool);
      expect(await hasTasksTable(p)).toBe(true);
    } finally {
      await p.close();
    }
  });

  it('a broken copy is removed and the store made by initdb, which leaves a good copy again', { timeout: 240_000 }, async () => {
    writeFileSync(template, 'not a tarball at all\0'.repeat(1000));
    const dir = join(temp('loom-template-c-'), 'data');
    const seen: string[] = [];
    const p = await openPglitePool(dir, { template, warn: (l) => void seen.push(l) });
    try {
      expect(p.started).toBe('initdb');
      expect(seen).toHaveLength(1);
      expect(seen[0]).toContain('did not load');
      await migrate(p.pool);
      expect(await hasTasksTable(p)).toBe(true);
    } finally {
      await p.close();
    }
    expect(readFileSync(template).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b])); // gzip again
    const next = await openPglitePool(undefined, { template });
    try {
      expect(next.started).toBe('template');
    } finally {
      await next.close();
    }
  });

  it('a copy cut short, or gzip of something else, is refused with a reason before PGlite sees it', () => {
    const good = readFileSync(template);
    expect(readTemplate(template)).toBeInstanceOf(Uint8Array);
    const cut = join(cache, 'cut.tar.gz');
    writeFileSync(cut, good.subarray(0, Math.floor(good.length / 2)));
    expect(readTemplate(cut)).toMatchObject({ broken: expect.stringContaining('not a whole gzip file') });
    const other = join(cache, 'other.tar.gz');
    writeFileSync(other, gzipSync(Buffer.alloc(4096, 'x')));
    expect(readTemplate(other)).toEqual({ broken: 'not a tar archive' });
    expect(readTemplate(join(cache, 'absent.tar.gz'))).toBeNull();
  });

  it('a copy that cannot be written is said once and the store opens all the same', { timeout: 240_000 }, async () => {
    const blocked = join(temp('loom-template-blocked-'), 'a-file');
    writeFileSync(blocked, 'in the way of the cache directory');
    const seen: string[] = [];
    const p = await openPglitePool(undefined, { template: pgliteTemplatePath({ LOOM_CACHE_DIR: blocked })!, warn: (l) => void seen.push(l) });
    try {
      expect(p.started).toBe('initdb');
      expect(seen).toHaveLength(1);
      expect(seen[0]).toContain('could not keep a starting copy');
      await migrate(p.pool);
      expect(await hasTasksTable(p)).toBe(true);
    } finally {
      await p.close();
    }
  });
});
