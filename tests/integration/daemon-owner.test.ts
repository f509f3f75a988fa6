/**
 * The embedded daemon's owner lock (its socket), in-process: a daemon that
 * finds the directory owned leaves at once.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { daemonSocketPath } from '../../src/adapters/embedded/daemon-address.js';
import { runDaemon } from '../../src/app/daemon-main.js';

class Exited extends Error {
  constructor(readonly code: number | string | null | undefined) {
    super(`process.exit(${String(code)})`);
  }
}

describe('daemon owner lock', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('a daemon that finds the directory owned exits at once, without waiting for the database code it started loading', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loom-owner-'));
    const owner = createServer();
    try {
      // The owner: whoever holds the socket.
      await new Promise<void>((resolve, reject) => owner.once('error', reject).listen(daemonSocketPath(join(dir, '.loom/data')), resolve));
      const exit = vi.spyOn(process, 'exit').mockImplementation((code) => {
        throw new Exited(code);
      });
      const lines: string[] = [];
      vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
        lines.push(String(chunk));
        return true;
      });
      // Returning instead would leave the process alive until PGlite and the rest had loaded:
      // seconds, on a busy machine, of a process that can do nothing.
      await expect(runDaemon(dir, { HOME: dir, LOOM_HOME: join(dir, 'home') })).rejects.toBeInstanceOf(Exited);
      expect(exit).toHaveBeenCalledWith(0);
      expect(lines.join('')).toContain('another daemon already owns this project; exiting');
      expect(existsSync(join(dir, '.loom/data/PG_VERSION'))).toBe(false); // it never touched the data
    } finally {
      owner.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
