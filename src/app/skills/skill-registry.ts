import { LoomError } from '../../domain/errors.js';
import type { SkillSource } from '../../ports/skill-source.js';
import { FileCatalog } from '../catalog/file-catalog.js';
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

/** The skills of every source, later (higher precedence) winning by name; broken files reported and skipped. */
export class SkillRegistry {
  private readonly files: FileCatalog<Skill>;

  constructor(sources: () => readonly SkillSource[]) {
    this.files = new FileCatalog<Skill>(
      sources,
      (file, namespace) => {
        const r: ParsedSkill = parseSkillFile(file, namespace);
        return r.ok ? { ok: true, value: r.skill } : r;
      },
      'skill',
    );
  }

  async catalog(): Promise<SkillCatalog> {
    const { items, problems } = await this.files.catalog();
    return { skills: items, problems };
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
