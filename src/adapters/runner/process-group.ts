import { readdir, readFile } from 'node:fs/promises';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const errno = (e: unknown): string | undefined => (e as NodeJS.ErrnoException | null)?.code;

/** Sends `signal` to every process of the group; false when the group no longer exists. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (e) {
    if (errno(e) === 'ESRCH') return false;
    throw e;
  }
}

/**
 * The live (not zombie) processes whose process group is `pgid`, read from
 * /proc/PID/stat (field 5); null where there is no /proc. Zombies count as
 * gone: they hold no resources, and a PID 1 that does not reap orphans
 * (common in containers) would otherwise keep them forever.
 */
export async function liveGroupMembers(pgid: number): Promise<number[] | null> {
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return null;
  }
  const members = await Promise.all(
    entries
      .filter((name) => /^\d+$/.test(name))
      .map(async (name) => {
        let stat: string;
        try {
          stat = await readFile(`/proc/${name}/stat`, 'utf8');
        } catch {
          return null; // exited while we looked
        }
        // "pid (comm) state ppid pgrp ...": comm may hold spaces and parentheses.
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const [state, , pgrp] = fields;
        return Number(pgrp) === pgid && state !== 'Z' && state !== 'X' ? Number(name) : null;
      }),
  );
  return members.filter((pid): pid is number => pid !== null);
}

/** Whether any live process remains in the group: `kill(-pgid, 0)`, confirmed against /proc. */
export async function groupAlive(pgid: number): Promise<boolean> {
  try {
    process.kill(-pgid, 0);
  } catch (e) {
    if (errno(e) === 'ESRCH') return false;
    if (errno(e) !== 'EPERM') throw e;
  }
  const members = await liveGroupMembers(pgid);
  return members === null || members.length > 0;
}

/** Polls until the group is gone or `ms` elapsed; true when gone. */
export async function waitGroupGone(pgid: number, ms: number, pollMs = 25): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (!(await groupAlive(pgid))) return true;
    if (Date.now() >= deadline) return false;
    await sleep(Math.min(pollMs, Math.max(1, deadline - Date.now())));
  }
}

/**
 * SIGTERM to the whole group, up to `graceMs` for it to leave, then SIGKILL,
 * and returns only once no live process of the group is left. SIGKILL is
 * repeated while anything survives (a process forked between two signals).
 */
export async function terminateGroup(pgid: number, graceMs: number, log?: (line: string) => void): Promise<void> {
  if (!signalGroup(pgid, 'SIGTERM')) return;
  if (await waitGroupGone(pgid, graceMs)) return;
  const started = Date.now();
  let warned = false;
  for (;;) {
    signalGroup(pgid, 'SIGKILL');
    if (await waitGroupGone(pgid, 1000)) return;
    if (!warned && Date.now() - started > 5000) {
      warned = true;
      const members = await liveGroupMembers(pgid);
      log?.(`process group ${pgid} survives SIGKILL (${members?.join(', ') ?? 'unknown members'}); still waiting for it to go`);
    }
  }
}
