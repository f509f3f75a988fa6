import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { createRequire } from 'node:module';
import { gunzipSync } from 'node:zlib';

/**
 * A new embedded store starts from a copy of a freshly initialised PGlite data
 * directory instead of running initdb: PGlite's initdb starts a second Postgres
 * of its own, runs the bootstrap, then copies the result over, ~7 s of CPU on
 * these 2-core machines against ~2.5 s to unpack a copy. The copy is made once
 * per machine and PGlite version, by the first store that had to run initdb,
 * right after it (before Loom's migrations: the copy holds no Loom schema and no
 * store identity, so every store made from it migrates and gets an identity of
 * its own, as one made by initdb does).
 *
 * Kept in `$LOOM_CACHE_DIR`, else `$XDG_CACHE_HOME/loom`, else `~/.cache/loom`,
 * as `pglite-<version>-datadir.tar.gz` (~4.5 MB). `LOOM_CACHE_DIR=none` turns it
 * off. A copy that cannot be read or loaded is removed, and the store is made by
 * initdb as if there were none.
 */
export function pgliteTemplatePath(env: NodeJS.ProcessEnv): string | null {
  const configured = env.LOOM_CACHE_DIR;
  if (configured === 'none') return null;
  let dir: string;
  if (configured !== undefined && configured !== '') dir = configured;
  else if (env.XDG_CACHE_HOME !== undefined && isAbsolute(env.XDG_CACHE_HOME)) dir = join(env.XDG_CACHE_HOME, 'loom');
  else {
    const home = env.HOME ?? safeHomedir();
    if (home === null) return null;
    dir = join(home, '.cache', 'loom');
  }
  const version = pgliteVersion();
  return version === null ? null : join(dir, `pglite-${version}-datadir.tar.gz`);
}

function safeHomedir(): string | null {
  try {
    return homedir();
  } catch {
    return null;
  }
}

let cachedVersion: string | null | undefined;

/** The installed PGlite's version (its data directory's format goes with it), or null when it cannot be told. */
export function pgliteVersion(): string | null {
  if (cachedVersion !== undefined) return cachedVersion;
  cachedVersion = null;
  try {
    // The package's exports map hides package.json: walk up from its entry point.
    let dir = dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite'));
    for (let i = 0; i < 4; i++, dir = dirname(dir)) {
      const file = join(dir, 'package.json');
      if (!existsSync(file)) continue;
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === '@electric-sql/pglite' && typeof pkg.version === 'string' && /^[0-9A-Za-z.+-]{1,64}$/.test(pkg.version)) {
        cachedVersion = pkg.version;
        break;
      }
    }
  } catch {
    // no version: no template
  }
  return cachedVersion;
}

/**
 * The template as an uncompressed tar: null when there is none, a reason when it is broken.
 * Unpacked here rather than by PGlite: gzip's checksum proves the bytes are the ones written
 * (a bad file is refused with a reason), where PGlite's own unpacking of a bad file ends in
 * rejections nobody can catch, which would stop the daemon.
 */
export function readTemplate(path: string): Uint8Array | null | { broken: string } {
  let packed: Buffer;
  try {
    packed = readFileSync(path);
  } catch {
    return null;
  }
  let tar: Buffer;
  try {
    tar = gunzipSync(packed, { maxOutputLength: MAX_TEMPLATE_BYTES });
  } catch (e) {
    return { broken: `not a whole gzip file (${(e as Error).message})` };
  }
  // A tar file: 512-byte blocks, the first an entry's header with the ustar mark at byte 257.
  if (tar.length < 1024 || tar.length % 512 !== 0 || tar.subarray(257, 262).toString('latin1') !== 'ustar') return { broken: 'not a tar archive' };
  return tar;
}

/** A fresh data directory unpacks to ~40 MB: anything far larger is not one. */
const MAX_TEMPLATE_BYTES = 512 * 1024 * 1024;

/** Writes a template so that no reader ever sees half of it (a file of its own, then renamed over). */
export function writeTemplate(path: string, bytes: Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  try {
    writeFileSync(tmp, bytes, { mode: 0o644 });
    renameSync(tmp, path);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** Removes a template that failed to load (someone else may have replaced it already: that is fine). */
export function dropTemplate(path: string): void {
  rmSync(path, { force: true });
}

/** What a directory holds now, to take back a failed load's files without touching what was there before. */
export function entriesOf(dir: string): Set<string> {
  try {
    return new Set(readdirSync(dir));
  } catch {
    return new Set();
  }
}

export function removeNewEntries(dir: string, before: ReadonlySet<string>): void {
  for (const name of entriesOf(dir)) if (!before.has(name)) rmSync(join(dir, name), { recursive: true, force: true });
}
