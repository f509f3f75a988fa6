/**
 * The embedded daemon's owner lock (its socket), in-process: a daemon that
 * finds the directory owned leaves at once. And its token, which the first
 * processes of a project race to create.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { daemonSocketPath, daemonToken } from '../../src/adapters/embedded/daemon-address.js';
import { runDaemon } from '../../src/app/entry/daemon-main.js';
import { ROOT } from '../support/loom-cli.js';

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

  it('processes creating the token at once all read the same one, never an empty file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loom-token-'));
    try {
      const script = `import { daemonToken } from ${JSON.stringify(join(ROOT, 'dist/src/adapters/embedded/daemon-address.js'))}; process.stdout.write(daemonToken(process.argv[1]));`;
      const read = () =>
        new Promise<string>((resolve, reject) =>
          execFile(process.execPath, ['--input-type=module', '-e', script, dir], (e, stdout, stderr) => (e ? reject(new Error(`${e.message}\n${stderr}`)) : resolve(stdout))),
        );
      const tokens = await Promise.all(Array.from({ length: 8 }, read));
      expect(tokens[0]!.length).toBeGreaterThan(10);
      expect(new Set(tokens).size).toBe(1);
      expect(readdirSync(dir)).toEqual(['daemon.token']); // no file of a process left behind
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('waits for a token file another process has created but not yet written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'loom-token-'));
    try {
      writeFileSync(join(dir, 'daemon.token'), '', { mode: 0o600 });
      const writer = spawn('sh', ['-c', `sleep 0.3; printf written-late > ${JSON.stringify(join(dir, 'daemon.token'))}`]);
      const exited = new Promise((r) => writer.on('exit', r));
      expect(daemonToken(dir)).toBe('written-late');
      await exited;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
