import { existsSync, watch, type FSWatcher } from 'node:fs';

const DEBOUNCE_MS = 150;
const RETRY_MS = 2_000;

/**
 * Watches skill folders (or, with `isWatched`, other files of some folders) and calls `onChange` once per burst of edits
 * (debounced). A missing folder is looked for again every few seconds, and a
 * folder removed and made again is watched again: `loom mcp` picks up a new
 * or edited skill without a restart.
 */
export function watchSkillFolders(dirs: readonly string[], onChange: () => void, isWatched: (file: string) => boolean = (f) => f.endsWith('.md')): { close(): void } {
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  const watchers = new Map<string, FSWatcher>();
  const retries = new Set<NodeJS.Timeout>();

  const changed = (): void => {
    if (closed) return;
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      if (!closed) onChange();
    }, DEBOUNCE_MS);
    timer.unref();
  };

  /** Looks again later: the folder is missing, or could not be watched yet. */
  const retry = (dir: string): void => {
    const t = setTimeout(() => {
      retries.delete(t);
      arm(dir, true);
    }, RETRY_MS);
    t.unref();
    retries.add(t);
  };

  const arm = (dir: string, announce: boolean): void => {
    if (closed) return;
    if (!existsSync(dir)) {
      retry(dir);
      return;
    }
    try {
      const w = watch(dir, { persistent: false }, (_event, file) => {
        if (file === null || isWatched(file)) changed();
      });
      w.on('error', () => {
        w.close();
        watchers.delete(dir);
        changed();
        arm(dir, true);
      });
      watchers.set(dir, w);
      if (announce) changed(); // the folder appeared: its skills are new
    } catch {
      retry(dir);
    }
  };

  for (const dir of new Set(dirs)) arm(dir, false);
  return {
    close() {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
      for (const t of retries) clearTimeout(t);
      for (const w of watchers.values()) w.close();
      watchers.clear();
    },
  };
}
