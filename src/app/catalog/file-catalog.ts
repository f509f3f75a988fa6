import type { SkillFile, SkillSource } from '../../ports/skill-source.js';

/** A file that could not be loaded: skipped, and reported with where and why. */
export interface FileProblem {
  file: string;
  line: number;
  reason: string;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: FileProblem };

export interface Catalog<T> {
  /** Winning entries by name, sorted by name. */
  items: T[];
  /** Broken files (skipped), in source order. */
  problems: FileProblem[];
}

/**
 * Merges the files of several sources (skills, workflows), later (higher
 * precedence) winning by name. Parsed files are cached by their text
 * (sources cache reads by mtime), so a listing re-parses only what changed;
 * a broken file is reported and skipped, and the others keep working.
 */
export class FileCatalog<T extends { name: string }> {
  private readonly parsed = new Map<string, { text: string; size: number | undefined; namespace: string | undefined; result: Parsed<T> }>();

  constructor(
    private readonly sources: () => readonly SkillSource[],
    private readonly parseFile: (file: SkillFile, namespace: string | undefined) => Parsed<T>,
    /** What an entry is called in a problem report ("skill", "workflow"). */
    private readonly kind: string,
  ) {}

  private parse(file: SkillFile, namespace: string | undefined): Parsed<T> {
    const key = `${file.source}\u0000${file.path}`;
    const hit = this.parsed.get(key);
    if (hit !== undefined && hit.text === file.text && hit.size === file.size && hit.namespace === namespace) return hit.result;
    const result = this.parseFile(file, namespace);
    this.parsed.set(key, { text: file.text, size: file.size, namespace, result });
    return result;
  }

  async catalog(): Promise<Catalog<T>> {
    const sources = [...this.sources()].sort((a, b) => a.precedence - b.precedence);
    const listed = await Promise.all(sources.map(async (s) => ({ s, files: await s.list().catch(() => [] as SkillFile[]) })));
    const byName = new Map<string, T>();
    const problems: FileProblem[] = [];
    for (const { s, files } of listed) {
      const inThisSource = new Map<string, string>();
      for (const file of files) {
        const r = this.parse(file, s.namespace);
        if (!r.ok) {
          problems.push(r.problem);
          continue;
        }
        const other = inThisSource.get(r.value.name);
        if (other !== undefined) {
          problems.push({ file: file.path, line: 2, reason: `${this.kind} ${r.value.name} is already defined in ${other} (same source): rename one` });
          continue;
        }
        inThisSource.set(r.value.name, file.path);
        byName.set(r.value.name, r.value);
      }
    }
    return { items: [...byName.values()].sort((a, b) => a.name.localeCompare(b.name)), problems };
  }
}
