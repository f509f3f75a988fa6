import { mkdirSync, rmSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { LoomError } from '../domain/errors.js';

/** A lock older than this is a crashed holder's: taken over. */
const STALE_MS = 120_000;

/**
 * Runs `fn` while holding a lock on `path` (a directory: mkdir is atomic on
 * a local file system), so that processes doing the same thing in one
 * project directory (several `loom init` at once) take turns. Waits up to
 * `waitMs`, then gives up with a coded error.
 */
export async function withDirLock<T>(path: string, fn: () => Promise<T>, waitMs = 60_000): Promise<T> {
  const deadline = Date.now() + waitMs;
  for (let pause = 20; ; pause = Math.min(pause * 2, 250)) {
    try {
      mkdirSync(path);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      try {
        if (Date.now() - statSync(path).mtimeMs > STALE_MS) {
          rmSync(path, { recursive: true, force: true });
          continue;
        }
      } catch {
        continue; // released meanwhile: try again at once
      }
      if (Date.now() > deadline) {
        throw new LoomError('CONFLICT', `another process holds ${path} and did not let go within ${Math.round(waitMs / 1000)} s`, {
          hint: `wait for the other command to finish; if none is running, remove ${path} and try again`,
          details: { path },
        });
      }
      await sleep(pause + Math.floor(Math.random() * pause));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(path, { recursive: true, force: true });
  }
}
