import { createHash } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, realpathSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
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
 *
 * The first processes of a project may race to create it. The token is
 * written to a file of this process's own, then linked into place: the link
 * either appears with the whole token in it or fails because another process
 * won, so no reader ever sees it empty (a process descheduled between
 * creating the file and writing it, on a busy machine, once let others read
 * it empty and fail).
 */
export function daemonToken(loomDir: string): string {
  const path = join(loomDir, 'daemon.token');
  if (!existsSync(path)) {
    const mine = join(loomDir, `daemon.token.${process.pid}.${randomBytes(4).toString('hex')}`);
    writeFileSync(mine, randomBytes(24).toString('base64url'), { mode: 0o600, flag: 'wx' });
    try {
      linkSync(mine, path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') {
        // A file system without hard links: create it exclusively and write it, as before.
        if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw e;
        try {
          writeFileSync(path, readFileSync(mine), { mode: 0o600, flag: 'wx' });
        } catch (e2) {
          if ((e2 as NodeJS.ErrnoException).code !== 'EEXIST') throw e2;
        }
      }
    } finally {
      unlinkSync(mine);
    }
  }
  // Empty only while another process is between creating and writing it (the no-link case).
  for (const deadline = Date.now() + 5_000; ; ) {
    const token = readFileSync(path, 'utf8').trim();
    if (token.length > 0) return token;
    if (Date.now() > deadline) throw new Error(`empty daemon token file ${path}: remove it and retry`);
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
  }
}

/**
 * The daemon's answer to a refused hello: when `.loom/daemon.token` is gone
 * or holds another token (deleted by hand; a client then made a new one), it
 * writes its own back (a private temp file renamed over it), so that clients
 * that re-read it get in. Only the daemon, which holds the directory's
 * owner lock, does this. Returns whether it rewrote the file.
 */
export function restoreDaemonToken(loomDir: string, token: string): boolean {
  const path = join(loomDir, 'daemon.token');
  try {
    if (readFileSync(path, 'utf8').trim() === token) return false;
  } catch {
    // missing: write it
  }
  const tmp = join(loomDir, `daemon.token.${process.pid}.${randomBytes(4).toString('hex')}`);
  writeFileSync(tmp, token, { mode: 0o600, flag: 'wx' });
  renameSync(tmp, path);
  return true;
}
