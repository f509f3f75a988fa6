import { readdir, readFile, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SkillFile, SkillSource } from '../../ports/skill-source.js';

/** Largest file read; a bigger one is listed with its size only, and reported by the registry. */
const READ_LIMIT = 256 * 1024;

/**
 * The `*.md` files of one folder (not its subfolders). A missing folder has
 * no skills. Texts are cached by mtime and size, so a listing costs a
 * readdir and a stat per file.
 */
export class DirectorySkillSource implements SkillSource {
  private readonly cache = new Map<string, { mtimeMs: number; size: number; file: SkillFile }>();

  constructor(
    readonly id: string,
    readonly dir: string,
    readonly precedence: number,
    readonly namespace?: string,
    /** File endings listed: `.md` for skills, `.yaml`/`.yml` for workflows. */
    private readonly extensions: readonly string[] = ['.md'],
  ) {}

  async list(): Promise<SkillFile[]> {
    let names: string[];
    try {
      names = (await readdir(this.dir)).filter((n) => this.extensions.some((e) => n.endsWith(e))).sort();
    } catch {
      return [];
    }
    const files: SkillFile[] = [];
    const listed = new Set(names.map((n) => join(this.dir, n)));
    for (const path of this.cache.keys()) if (!listed.has(path)) this.cache.delete(path); // removed files
    for (const name of names) {
      const path = join(this.dir, name);
      try {
        const s = await stat(path);
        if (!s.isFile()) continue;
        const hit = this.cache.get(path);
        if (hit !== undefined && hit.mtimeMs === s.mtimeMs && hit.size === s.size) {
          files.push(hit.file);
          continue;
        }
        const file: SkillFile =
          s.size > READ_LIMIT ? { path, text: '', source: this.id, size: s.size } : { path, text: await readFile(path, 'utf8'), source: this.id };
        this.cache.set(path, { mtimeMs: s.mtimeMs, size: s.size, file });
        files.push(file);
      } catch {
        // removed between readdir and stat: it is simply gone
      }
    }
    return files;
  }
}

/**
 * The package's builtin skills folder (shipped as files: not compiled), found
 * from this file whether it runs from src/ or dist/src/: under the nearest
 * folder holding a package.json.
 */
export function builtinSkillsDir(): string {
  return join(builtinDir(), 'skills');
}

/** The package's builtin workflows folder (YAML files, shipped as they are). */
export function builtinWorkflowsDir(): string {
  return join(builtinDir(), 'workflows');
}

function builtinDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8 && !existsSync(join(dir, 'package.json')); i++) dir = dirname(dir);
  return join(dir, 'src', 'plugins', 'builtin');
}
