/** Independent /proc readers for the runner tests (not the code under test). */
import { readdirSync, readFileSync } from 'node:fs';

function stat(pid: number): { state: string; pgrp: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0]!, pgrp: Number(fields[2]) };
  } catch {
    return null;
  }
}

/** A process that exists and is not a zombie (a zombie is dead; an unreaping PID 1 may keep it listed). */
export function isAlive(pid: number): boolean {
  const s = stat(pid);
  return s !== null && s.state !== 'Z' && s.state !== 'X';
}

/** Live processes whose process group is `pgid`. */
export function liveInGroup(pgid: number): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .filter((pid) => {
      const s = stat(pid);
      return s !== null && s.pgrp === pgid && s.state !== 'Z' && s.state !== 'X';
    });
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

type Maybe<T> = T | undefined | null | false;

/** Polls `fn` (sync or async) until it gives a truthy value. */
export async function until<T>(fn: () => Maybe<T> | Promise<Maybe<T>>, timeoutMs = 30_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
