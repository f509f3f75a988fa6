import { realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { Command, Option } from 'clipanion';
import { LoomError } from '../../../domain/errors.js';
import type { JsonObject } from '../../../domain/task.js';
import type { DecomposeInput, DecomposeResult, LoomApi } from '../../../ports/loom-api.js';
import { LoomCommand } from '../base-command.js';
import { printJson } from '../output.js';
import { promptNextLines, renderApplied, renderDryRun, targetFlags } from '../decompose-view.js';
import { readPlanFile } from '../plan-file.js';

const NOTHING_WRITTEN = 'Nothing was written';

/** The API speaks in loom_decompose fields; a shell user has flags. Rewrites the hints that name them. */
function forTheShell(error: unknown): unknown {
  if (!LoomError.is(error) || error.hint === undefined) return error;
  const hint = error.hint
    .replace('send allow_flat: true', 'run again with --allow-flat')
    .replace('call loom_decompose without a plan for the plan JSON Schema and an example', 'see the example plan in the skill (loom decompose without --plan) and plan_schema in its --json output')
    .replace('pass the spec text as goal', 'pass the spec text with --goal')
    .replace('loom_decompose {epic_id}', 'loom decompose --epic ID');
  if (hint === error.hint) return error;
  return new LoomError(error.code, error.message, { hint, ...(error.details === undefined ? {} : { details: error.details }) });
}

export class DecomposeCommand extends LoomCommand {
  static override paths = [['decompose']];

  static override usage = Command.Usage({
    category: 'Planning',
    description: 'Break a goal, spec or epic into a wired task graph',
    details: `
      Name what to break down with exactly one of --goal, --spec (a file inside the project, relative to the current directory) or --epic (an open epic, whose tasks then go under it).

      Without --plan: prints the decompose_project skill for it. An agent (or you) follows it and writes the plan, a JSON or YAML file with a title and tasks wired by depends_on. --file-tree and --constraints add to the skill.

      With --plan FILE: a dry run. Prints the epic and its tasks grouped by wave (wave 1 can start first), the critical path, warnings, counts and the plan hash. Nothing is written. With --plan and none of --goal, --spec or --epic, the plan's title is the goal.

      With --apply: the same dry run, then the write, in one transaction: the epic (unless --epic), every task and every edge. Prints the epic id and each plan key's task id. Applying the same plan again (under the same parent) writes nothing and prints the same ids.

      A plan of more than 3 tasks with no edges is refused (PLAN_FLAT) unless --allow-flat. A .json file is read as JSON, .yaml or .yml as YAML, anything else as JSON, else YAML; at most 4 MiB.

      --json prints the API's result: the skill and plan_schema without --plan, the dry run with --plan, and with --apply the applied result (epic_id, created, tasks: key -> id, counts, waves, plan_hash) with the dry run it followed under \`dry_run\`.
    `,
    examples: [
      ['The skill to plan with', '$0 decompose --goal "Add full-text search"'],
      ['The skill for a spec, with the file tree', '$0 decompose --spec docs/search.md --file-tree'],
      ['Dry-run a plan (nothing is written)', '$0 decompose --goal "Add full-text search" --plan plan.yaml'],
      ['Write it', '$0 decompose --goal "Add full-text search" --plan plan.yaml --apply'],
      ['Break down an existing epic', '$0 decompose --epic loom-1a2b3c4d --plan plan.json --apply'],
    ],
  });

  goal = Option.String('--goal', { description: 'What the team should achieve, in words' });
  spec = Option.String('--spec', { description: 'A spec file inside the project (relative to the current directory)' });
  epic = Option.String('--epic', { description: 'An open epic to break down: the tasks go under it' });
  plan = Option.String('--plan', { description: 'The plan file (JSON or YAML): dry-run it, or write it with --apply' });
  apply = Option.Boolean('--apply', false, { description: 'Write the plan (after a dry run, printed first)' });
  allowFlat = Option.Boolean('--allow-flat', false, { description: 'Accept a plan of more than 3 tasks with no dependency edges' });
  fileTree = Option.Boolean('--file-tree', false, { description: "Without --plan: add a summary of the project's file tree to the skill" });
  constraints = Option.String('--constraints', { description: 'Without --plan: limits to respect (stack, files not to touch), passed to the skill' });
  agent = Option.String('--agent', { description: 'Who decomposes, recorded as the origin of the tasks (default: $LOOM_AGENT_ID)' });

  async execute(): Promise<number> {
    const given = [['--goal', this.goal], ['--spec', this.spec], ['--epic', this.epic]].filter(([, v]) => v !== undefined).map(([flag]) => flag!);
    if (given.length > 1) {
      throw new LoomError('VALIDATION_FAILED', `give one of --goal, --spec or --epic, not ${given.join(' and ')}`, {
        hint: `--goal: what to achieve, in words; --spec: a spec file in the project; --epic: an existing epic to break down. ${NOTHING_WRITTEN}`,
        details: { given },
      });
    }
    if (this.plan === undefined) {
      if (given.length === 0) {
        throw new LoomError('VALIDATION_FAILED', 'loom decompose needs one of --goal, --spec or --epic (or --plan, whose title is then the goal)', {
          hint: `for example: loom decompose --goal "Add full-text search". ${NOTHING_WRITTEN}`,
        });
      }
      if (this.apply || this.allowFlat) {
        throw new LoomError('VALIDATION_FAILED', `${this.apply ? '--apply' : '--allow-flat'} goes with --plan: there is no plan to ${this.apply ? 'write' : 'check'}`, {
          hint: `run without it for the skill, write the plan to a file, then run with --plan FILE. ${NOTHING_WRITTEN}`,
        });
      }
    } else if (this.fileTree || this.constraints !== undefined) {
      throw new LoomError('VALIDATION_FAILED', `${this.fileTree ? '--file-tree' : '--constraints'} shapes the skill text, so it does nothing with --plan`, {
        hint: `leave it out when you dry-run or apply a plan. ${NOTHING_WRITTEN}`,
      });
    }
    const plan = this.plan === undefined ? undefined : await readPlanFile(this.plan, process.cwd());
    if (given.length === 0) planTitle(plan, this.plan); // refused before the project is opened
    const agent = this.agent ?? (this.context.env.LOOM_AGENT_ID || undefined);
    try {
      await this.withApi(async (api, project) => {
        const base: DecomposeInput = {
          project_id: project.project_id,
          ...this.target(plan, project.project_dir),
          ...(agent === undefined ? {} : { agent_id: agent }),
        };
        if (plan === undefined) return this.prompt(api, base);
        return this.dryRunAndApply(api, { ...base, plan, ...(this.allowFlat ? { allow_flat: true } : {}) });
      });
    } catch (error) {
      throw forTheShell(error);
    }
    return 0;
  }

  /** goal, spec_path or epic_id; with only --plan, the plan's title as the goal. */
  private target(plan: JsonObject | undefined, projectDir: string): Pick<DecomposeInput, 'goal' | 'spec_path' | 'epic_id'> {
    if (this.goal !== undefined) return { goal: this.goal };
    if (this.spec !== undefined) return { spec_path: specPath(this.spec, process.cwd(), projectDir) };
    if (this.epic !== undefined) return { epic_id: this.epic };
    return { goal: planTitle(plan, this.plan) };
  }

  private async prompt(api: LoomApi, input: DecomposeInput): Promise<void> {
    const r = await api.decompose({
      ...input,
      ...(this.fileTree ? { include_file_tree: true } : {}),
      ...(this.constraints === undefined ? {} : { constraints: this.constraints }),
    });
    if (this.json) return printJson(this.context.stdout, r);
    const prompt = expect(r, 'plan_needed');
    this.print(prompt.skill.text.trimEnd(), '', '---', ...promptNextLines(targetFlags({ goal: this.goal, spec: this.spec, epic: this.epic })));
  }

  private async dryRunAndApply(api: LoomApi, input: DecomposeInput): Promise<void> {
    const dry = expect(await api.decompose(input), 'dry_run');
    if (!this.apply) {
      if (this.json) return printJson(this.context.stdout, dry);
      this.print(...renderDryRun(dry), '', 'Nothing was written. Run again with --apply to write it.');
      return;
    }
    if (!this.json) this.print(...renderDryRun(dry), '');
    const applied = expect(await api.decompose({ ...input, apply: true, plan_hash: dry.plan_hash }), 'applied');
    if (this.json) return printJson(this.context.stdout, { ...applied, dry_run: dry });
    this.print(...renderApplied(applied, dry));
  }
}

/**
 * --spec is a path from the current directory, as paths on a command line
 * are; the API takes one relative to the project directory. A path that
 * leaves the project is passed as an absolute path, which the API refuses
 * naming it.
 */
export function specPath(spec: string, cwd: string, projectDir: string): string {
  let root = projectDir;
  try {
    root = realpathSync(projectDir); // the current directory is a real path; compare like with like
  } catch {
    // a project directory that cannot be resolved: compare as given
  }
  const absolute = resolve(cwd, spec);
  const rel = relative(root, absolute);
  if (rel === '') return '.';
  return isAbsolute(rel) || rel === '..' || rel.startsWith(`..${sep}`) ? absolute : rel;
}

/** The plan's title, the goal when no flag names one. */
function planTitle(plan: JsonObject | undefined, file: string | undefined): string {
  const title = plan?.title;
  if (typeof title !== 'string' || title.trim() === '') {
    throw new LoomError('VALIDATION_FAILED', `the plan in ${file} has no title to use as the goal`, {
      hint: `give the plan a title (the epic's), or name what it breaks down with --goal, --spec or --epic. ${NOTHING_WRITTEN}`,
      details: { file },
    });
  }
  return title;
}

function expect<S extends DecomposeResult['stage']>(r: DecomposeResult, stage: S): Extract<DecomposeResult, { stage: S }> {
  if (r.stage !== stage) throw new LoomError('INTERNAL', `loom decompose expected a ${stage} answer, got ${r.stage}`);
  return r as Extract<DecomposeResult, { stage: S }>;
}
