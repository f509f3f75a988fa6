import { createHash } from 'node:crypto';
import { mkdirSync, openSync, readFileSync, realpathSync, writeFileSync, closeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

/**
 * The daemon of a data directory listens on a Linux abstract unix socket
 * named after the directory's real path. Binding it is the single-owner
 * lock: the kernel lets exactly one process hold it and frees it the moment
 * that process dies, with no stale lock file to take over.
 */
export function daemonSocketPath(dataDir: string): string {
  mkdirSync(dataDir, { recursive: true });
  const digest = createHash('sha256').update(realpathSync(dataDir)).digest('hex').slice(0, 40);
  return `\0loom-${digest}`;
}

/**
 * An abstract socket has no file permissions, so every request carries a
 * token only the project's users can read (mode 0600 under .loom/).
 */
export function daemonToken(loomDir: string): string {
  const path = join(loomDir, 'daemon.token');
  try {
    const fd = openSync(path, 'wx', 0o600);
    try {
      writeFileSync(fd, randomBytes(24).toString('base64url'));
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  for (let i = 0; i < 50; i++) {
    const token = readFileSync(path, 'utf8').trim();
    if (token.length > 0) return token;
  }
  throw new Error(`empty daemon token file ${path}`);
}
