import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { LoomError } from '../../domain/errors.js';

/**
 * Writes a new file of the project's own (a skill or workflow skeleton): its
 * folder is made, an existing file is never overwritten (CONFLICT, also when
 * two write at once), and `check` must pass first (a skeleton that does not
 * load is a bug of Loom's).
 */
export function writeNewFile(path: string, text: string, o: { check: () => string | null; showCommand: string }): void {
  const problem = o.check();
  if (problem !== null) throw new LoomError('INTERNAL', `the skeleton for ${path} does not load: ${problem}`);
  mkdirSync(dirname(path), { recursive: true });
  let fd: number;
  try {
    fd = openSync(path, 'wx');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new LoomError('CONFLICT', `${path} exists already`, { hint: `edit it, or pick another name; ${o.showCommand}`, details: { path } });
    }
    throw e;
  }
  try {
    writeSync(fd, text);
  } finally {
    closeSync(fd);
  }
}
