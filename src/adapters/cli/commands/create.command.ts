import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { Command, Option, UsageError } from 'clipanion';
import { LoomError } from '../../../domain/errors.js';
import type { BulkTaskInput, CreateTasksResult } from '../../../ports/loom-api.js';
import { LoomCommand } from '../base-command.js';
import { MAX_TASK_FILE_BYTES, parseTaskFile, type TaskFile } from '../task-file.js';
import { parseIdList, parseLabels, parseOptionalJsonObject, parseOrigin, parsePositiveInt, parsePriority } from '../parse.js';

export class CreateCommand extends LoomCommand {
  static override paths = [['create']];

  static override usage = Command.Usage({
    description: 'Create a task',
    details: `
      Creates a task in the project's graph. A task with unfinished dependencies starts \`blocked\` and becomes ready when they are done. \`--epic\` makes a container that completes itself when all its children are done.

      \`--label\` tags the task (lower case: letters, digits, \`. _ : -\`; repeat it, or separate with commas, for several): \`loom list --label\` and \`loom ready --label\` filter by them.

      \`--context\` is a JSON object handed to whoever claims the task. \`--origin\` says who filed it (default \`cli:$USER\`).

      With \`--quiet\` only the new id is printed, for scripts: \`id=$(loom create "Write tests" -q)\`.

      \`--from FILE\` creates many tasks in one transaction (all or nothing): JSON lines (\`.jsonl\`, one task object a line), a JSON array, or YAML (\`.yaml\`: a list, or \`tasks:\` with the list); \`-\` reads standard input. Each task takes the fields of a single create (\`title\`, \`context\`, \`depends_on\`, \`priority\`, \`parent_id\`, \`done_when\`, \`labels\`, \`epic\`, \`max_attempts\`, \`origin\`) and a \`key\`: \`depends_on\` and \`parent_id\` may name the key of another task of the file as well as an existing task's id. At most 20,000 tasks a call. It prints each new id with its status and key, in file order (\`-q\`: the ids only).
    `,
    examples: [
      ['Create a task', '$0 create "Add login form"'],
      ['Create an urgent task that waits for two others', '$0 create "Ship release" --priority p0 --depends-on loom-1a2b3c4d --depends-on loom-5e6f7a8b'],
      ['Create an epic and a child of it', 'epic=$($0 create "Auth" --epic -q) && $0 create "Password reset" --parent $epic'],
      ['Tag a task', '$0 create "Fix the login redirect" --label bug --label area:auth'],
      ['Create the tasks of a file, wired by their keys', '$0 create --from tasks.jsonl'],
      ['The same from YAML on standard input', 'cat plan.yaml | $0 create --from -'],
      ['Attach context and an acceptance criterion', `$0 create "Fix flaky test" --context '{"file":"tests/a.test.ts"}' --done-when "passes 20 runs in a row"`],
    ],
  });

  title = Option.String({ name: 'title', required: false });
  from = Option.String('--from', { description: 'Create every task of this file (JSON lines, JSON or YAML; - for stdin) in one transaction' });
  priority = Option.String('--priority', { description: 'p0 (most urgent), p1 or p2' });
  dependsOn = Option.Array('--depends-on', { description: 'A task that must be done first (repeat for several)' });
  parent = Option.String('--parent', { description: 'The epic this task belongs to' });
  epic = Option.Boolean('--epic', false, { description: 'Create an epic: a container of tasks' });
  taskContext = Option.String('--context', { description: 'A JSON object with what the worker needs to know' });
  doneWhen = Option.String('--done-when', { description: 'Acceptance criterion, in words' });
  label = Option.Array('--label', { description: 'A label, such as bug or area:cli (repeat for several)' });
  maxAttempts = Option.String('--max-attempts', { description: 'How many claims may fail before the task is dead-lettered' });
  origin = Option.String('--origin', { description: 'Who filed it, as KIND:ID (default cli:$USER)' });
  quiet = Option.Boolean('-q,--quiet', false, { description: 'Print only the new task id' });

  async execute(): Promise<number> {
    if (this.from !== undefined) return this.createFromFile(this.from);
    if (this.title === undefined) throw new UsageError('a title is required: loom create TITLE (or loom create --from FILE for many tasks)');
    const priority = parsePriority(this.priority);
    const dependsOn = parseIdList(this.dependsOn);
    const labels = parseLabels(this.label);
    const context = parseOptionalJsonObject('--context', this.taskContext);
    const maxAttempts = parsePositiveInt('--max-attempts', this.maxAttempts);
    const origin = parseOrigin(this.origin, this.context.env);
    const task = await this.withApi((api, project) =>
      api.createTask({
        project_id: project.project_id,
        title: this.title!,
        origin,
        ...(priority === undefined ? {} : { priority }),
        ...(dependsOn === undefined ? {} : { depends_on: dependsOn }),
        ...(this.parent === undefined ? {} : { parent_id: this.parent }),
        ...(this.epic ? { epic: true } : {}),
        ...(context === undefined ? {} : { context }),
        ...(this.doneWhen === undefined ? {} : { done_when: this.doneWhen }),
        ...(labels === undefined ? {} : { labels }),
        ...(maxAttempts === undefined ? {} : { max_attempts: maxAttempts }),
      }),
    );
    if (this.quiet && !this.json) {
      this.print(task.id);
      return 0;
    }
    this.emit(task, () => {
      const lines = [`created ${task.id}  ${task.status}  ${task.title}`];
      if (task.status === 'blocked' && task.unmet_deps > 0) {
        lines.push(`waiting on ${task.unmet_deps} unfinished ${task.unmet_deps === 1 ? 'dependency' : 'dependencies'}: ${task.depends_on.join(', ')}`);
      }
      return lines;
    });
    return 0;
  }

  private async createFromFile(from: string): Promise<number> {
    const perTask = { title: this.title, '--priority': this.priority, '--depends-on': this.dependsOn, '--parent': this.parent, '--context': this.taskContext, '--done-when': this.doneWhen, '--label': this.label, '--max-attempts': this.maxAttempts };
    const clash = Object.entries(perTask).filter(([, v]) => v !== undefined).map(([k]) => k);
    if (this.epic) clash.push('--epic');
    if (clash.length > 0) throw new UsageError(`--from takes every task's fields from the file; drop ${clash.join(', ')}`);
    const file = await this.readTaskFile(from);
    const origin = parseOrigin(this.origin, this.context.env);
    let result: CreateTasksResult;
    try {
      result = await this.withApi((api, project) => api.createTasks({ project_id: project.project_id, origin, tasks: file.tasks as BulkTaskInput[] }));
    } catch (e) {
      throw where(e, from, file);
    }
    if (this.quiet && !this.json) {
      this.print(...result.tasks.map((t) => t.id));
      return 0;
    }
    this.emit(result, () => [
      ...result.tasks.map((t) => `created ${t.id}  ${t.status}${t.key === undefined ? '' : `  ${t.key}`}`),
      `${result.created} task${result.created === 1 ? '' : 's'} and ${result.edges} dependenc${result.edges === 1 ? 'y' : 'ies'} created in one transaction`,
    ]);
    return 0;
  }

  private async readTaskFile(from: string): Promise<TaskFile> {
    const tooBig = (bytes: number) =>
      new LoomError('VALIDATION_FAILED', `${from} is ${bytes} bytes; a task file holds at most ${MAX_TASK_FILE_BYTES}`, { hint: 'split it into several files. Nothing was written' });
    if (from === '-') {
      const chunks: Buffer[] = [];
      let bytes = 0;
      for await (const chunk of this.context.stdin) {
        const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
        bytes += b.length;
        if (bytes > MAX_TASK_FILE_BYTES) throw tooBig(bytes);
        chunks.push(b);
      }
      return parseTaskFile('stdin', Buffer.concat(chunks).toString('utf8'));
    }
    const path = resolve(from);
    let size: number;
    try {
      size = (await stat(path)).size;
    } catch {
      throw new LoomError('VALIDATION_FAILED', `${from}: no such file`, { hint: 'give the path of a .jsonl, .json or .yaml file of tasks, or - for standard input' });
    }
    if (size > MAX_TASK_FILE_BYTES) throw tooBig(size);
    return parseTaskFile(from, await readFile(path, 'utf8'));
  }
}

/** An API error about one item, with the line of the file it came from (JSON lines). */
function where(e: unknown, from: string, file: TaskFile): unknown {
  if (!LoomError.is(e) || file.lines === undefined) return e;
  // Named in the details (the batch checks; the first unknown reference of DEPENDENCY_NOT_FOUND), or in the schema's path (tasks.5.title).
  const unknown = Array.isArray(e.details?.unknown) ? (e.details.unknown[0] as { index?: unknown } | undefined)?.index : undefined;
  const index =
    typeof e.details?.index === 'number' ? e.details.index : typeof unknown === 'number' ? unknown : Number(/\btasks[.[](\d+)/.exec(e.message)?.[1] ?? NaN);
  if (file.lines[index] === undefined) return e;
  return new LoomError(e.code, `${e.message} (${from} line ${file.lines[index]})`, { ...(e.hint === undefined ? {} : { hint: e.hint }), details: { ...e.details, line: file.lines[index] }, cause: e });
}
