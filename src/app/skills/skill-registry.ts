import { LoomError } from '../../domain/errors.js';
import type { SkillFile, SkillSource } from '../../ports/skill-source.js';
import { parseSkillFile, SKILL_REF_PATTERN, type ParsedSkill, type Skill, type SkillProblem } from './skill-file.js';

export interface SkillCatalog {
  /** Winning skills by name, sorted by name. */
  skills: Skill[];
  /** Broken files (skipped), in source order. */
  problems: SkillProblem[];
}

const NAME = new RegExp(SKILL_REF_PATTERN);

/** Refuses a skill name that is not a name (a path, `..`, a backslash) before anything looks it up. */
export function checkSkillName(name: unknown): string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    const shown = typeof name === 'string' ? JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}...` : name) : String(typeof name);
    throw new LoomError('VALIDATION_FAILED', `${shown} is not a skill name`, {
      hint: 'a skill name matches [a-z][a-z0-9_-]* (at most 64 characters), or <plugin>/<skill>; list them with `loom skills list`',
      details: { name: typeof name === 'string' ? name.slice(0, 200) : null },
    });
  }
  return name;
}

/**
 * Merges every skill source, later (higher precedence) winning by name.
 * Parsed files are cached by their text (sources cache reads by mtime), so a
 * listing re-parses only what changed; a broken file is reported and
 * skipped, and the others keep working.
 */
export class SkillRegistry {
  private readonly parsed = new Map<string, { text: string; size: number | undefined; namespace: string | undefined; result: ParsedSkill }>();

  constructor(private readonly sources: () => readonly SkillSource[]) {}

  private parse(file: SkillFile, namespace: string | undefined): ParsedSkill {
    const key = `${file.source}\u0000${file.path}`;
    const hit = this.parsed.get(key);
    if (hit !== undefined && hit.text === file.text && hit.size === file.size && hit.namespace === namespace) return hit.result;
    const result = parseSkillFile(file, namespace);
    this.parsed.set(key, { text: file.text, size: file.size, namespace, result });
    return result;
  }

  async catalog(): Promise<SkillCatalog> {
    const sources = [...this.sources()].sort((a, b) => a.precedence - b.precedence);
    const listed = await Promise.all(sources.map(async (s) => ({ s, files: await s.list().catch(() => [] as SkillFile[]) })));
    const byName = new Map<string, Skill>();
    const problems: SkillProblem[] = [];
    for (const { s, files } of listed) {
      const inThisSource = new Map<string, string>();
      for (const file of files) {
        const r = this.parse(file, s.namespace);
        if (!r.ok) {
          problems.push(r.problem);
          continue;
        }
        const other = inThisSource.get(r.skill.name);
        if (other !== undefined) {
          problems.push({ file: file.path, line: 2, reason: `skill ${r.skill.name} is already defined in ${other} (same source): rename one` });
          continue;
        }
        inThisSource.set(r.skill.name, file.path);
        byName.set(r.skill.name, r.skill);
      }
    }
    return { skills: [...byName.values()].sort((a, b) => a.name.localeCompare(b.name)), problems };
  }

  async get(name: string): Promise<Skill> {
    checkSkillName(name);
    const { skills, problems } = await this.catalog();
    const skill = skills.find((s) => s.name === name);
    if (skill !== undefined) return skill;
    const broken = problems.find((p) => p.file.replace(/\\/g, '/').endsWith(`/${name.split('/').pop()}.md`));
    throw new LoomError('SKILL_NOT_FOUND', `no skill named ${name}`, {
      hint:
        broken !== undefined
          ? `${broken.file}:${broken.line}: ${broken.reason}`
          : `list the skills with \`loom skills list\` (MCP: loom_skills); add one with \`loom skills new ${name.includes('/') ? 'NAME' : name}\``,
      details: { name },
    });
  }
}
