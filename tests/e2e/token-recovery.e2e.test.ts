/**
 * A deleted or rewritten .loom/daemon.token no longer locks everyone out
 * (issue 14, item 2): the running daemon, which holds the directory's owner
 * lock, writes its token back on the first refused hello, and the client
 * reads it again. Every command keeps working, daemon stop included, and
 * doctor tells the truth; no process is killed by hand.
 */
import { readFileSync, rmSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loom, loomJson } from '../support/loom-cli.js';

describe('daemon token recovery (built binary, embedded)', () => {
  let dir: string;
  let tokenFile: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'loom-token-'));
    tokenFile = join(dir, '.loom', 'daemon.token');
    await loomJson(dir, ['init', '--name', 'token']);
  });
  afterAll(async () => {
    await loom(dir, ['daemon', 'stop']);
    rmSync(dir, { recursive: true, force: true });
  });

  it('deleted: commands, status, doctor and stop work; the file holds the daemon token again', async () => {
    const task = await loomJson(dir, ['create', 'Survives']);
    const before = readFileSync(tokenFile, 'utf8').trim();
    rmSync(tokenFile);
    expect((await loomJson(dir, ['ready'])).map((t: { id: string }) => t.id)).toEqual([task.id]);
    expect(readFileSync(tokenFile, 'utf8').trim()).toBe(before);

    rmSync(tokenFile);
    const status = await loomJson(dir, ['daemon', 'status']);
    expect(status.running).toBe(true);

    rmSync(tokenFile);
    const doctor = await loom(dir, ['doctor']);
    expect(doctor.stdout).toMatch(/daemon\s+ok/);

    writeFileSync(tokenFile, 'not-the-token');
    const stop = await loom(dir, ['daemon', 'stop']);
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stdout).toMatch(/stopped the daemon/);
    expect((await loomJson(dir, ['daemon', 'status'])).running).toBe(false);
  });
});
