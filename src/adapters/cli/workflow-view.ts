import type { JsonObject } from '../../domain/task.js';
import type { WorkflowDetail, WorkflowInputView, WorkflowList, WorkflowRunDetail, WorkflowRunResult, WorkflowRunView } from '../../ports/loom-api.js';
import { oneLine, waveLines } from './decompose-view.js';
import { plural, renderFields, renderTable, shellQuote, shortTime } from './output.js';

/*
 * What `loom workflow ...` prints for people. Pure: a result in, lines out
 * (the commands escape them with printable() when they print).
 */

type DryRun = Extract<WorkflowRunResult, { stage: 'dry_run' }>;
type Started = Extract<WorkflowRunResult, { stage: 'started' }>;

const value = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

/** `feature:string*` (* when required). */
export const inputSignature = (i: WorkflowInputView): string => `${i.name}:${i.type}${i.required ? '*' : ''}`;

/** `feature="CSV export", with_docs=true` */
export const inputValues = (inputs: JsonObject): string =>
  Object.keys(inputs).length === 0 ? 'none' : Object.entries(inputs).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ');

export function renderWorkflowList(list: WorkflowList): string[] {
  return [
    list.workflows.length === 0
      ? 'no workflows: add one with `loom workflow new NAME`'
      : renderTable(list.workflows, [
          { header: 'NAME', value: (w) => w.name },
          { header: 'VERSION', value: (w) => w.version },
          { header: 'SOURCE', value: (w) => w.source },
          { header: 'INPUTS', value: (w) => (w.inputs.length === 0 ? '-' : w.inputs.map(inputSignature).join(' ')) },
          { header: 'DESCRIPTION', value: (w) => w.description },
        ]),
    ...(list.workflows.length === 0 ? [] : ['', 'inputs marked * are required; run one with: loom workflow run NAME --input name=value --dry-run']),
    ...(list.problems.length === 0 ? [] : ['', `broken workflow files (${list.problems.length}, skipped):`, ...list.problems.map((p) => `  ${p.file}:${p.line}: ${p.reason}`)]),
  ];
}

function inputLine(i: WorkflowInputView): string {
  const facts = [i.type, i.required ? 'required' : 'optional'];
  if (i.default !== undefined) facts.push(`default ${value(i.default)}`);
  if (i.enum !== undefined) facts.push(`one of ${i.enum.map(value).join(', ')}`);
  return `${i.name} (${facts.join(', ')})${i.description === undefined ? '' : `: ${oneLine(i.description)}`}`;
}

export function renderWorkflowDetail(w: WorkflowDetail): string[] {
  const width = Math.max(0, ...w.steps.map((s) => s.id.length));
  const steps = w.steps.flatMap((s) => {
    const facts: string[] = [];
    if (s.depends_on.length > 0) facts.push(`after ${s.depends_on.join(', ')}`);
    if (s.uses !== null) facts.push(`uses ${s.uses}`);
    if (s.skill !== null) facts.push(`skill ${s.skill}`);
    if (s.when !== null) facts.push(`when ${s.when}`);
    if (s.for_each !== null) facts.push(`for_each ${s.for_each}`);
    if (s.loop !== null) facts.push(`loop until ${s.loop.until} (at most ${plural(s.loop.max_rounds, 'round')}, repeats ${s.loop.repeat.join(', ')})`);
    const title = s.title ?? (s.uses === null ? '' : `(the steps of ${s.uses})`);
    return [`  ${s.id.padEnd(width)}  ${oneLine(title)}`.trimEnd(), ...(facts.length === 0 ? [] : [`  ${''.padEnd(width)}  ${facts.join('; ')}`])];
  });
  return [
    `${w.name}  ${w.description}`,
    renderFields([
      ['version', w.version],
      ['source', w.source],
      ['file', w.path],
      ['content hash', w.content_hash],
    ]),
    '',
    w.inputs.length === 0 ? 'Inputs: none' : 'Inputs:',
    ...w.inputs.map((i) => `  ${inputLine(i)}`),
    '',
    `Steps (${w.steps.length}):`,
    ...steps,
    '',
    `Try it: loom workflow run ${w.name}${w.inputs.filter((i) => i.required).map((i) => ` --input ${i.name}=...`).join('')} --dry-run`,
  ];
}

const skippedLines = (skipped: ReadonlyArray<{ step: string; reason: string }>): string[] =>
  skipped.length === 0 ? ['Skipped steps: none'] : [`Skipped steps (${skipped.length}):`, ...skipped.map((s) => `  ${s.step}: ${oneLine(s.reason)}`)];

/** The dry run: the new epic, its tasks grouped by wave, the critical path and the steps left out. */
export function renderWorkflowDryRun(dry: DryRun, opts: { parent?: string } = {}): string[] {
  const under = opts.parent === undefined ? '' : ` under epic ${opts.parent}`;
  return [
    `Workflow ${dry.workflow} ${dry.version}: new epic "${oneLine(dry.title)}"${under} with ${plural(dry.tasks.length, 'task')}`,
    `Inputs: ${inputValues(dry.inputs)}`,
    '',
    ...waveLines(dry.tasks, dry.waves, () => 'can start now'),
    '',
    `Critical path (${plural(dry.critical_path.length, 'task')}): ${dry.critical_path.join(' -> ')}`,
    ...skippedLines(dry.skipped),
    `Counts: ${plural(dry.tasks.length, 'task')}, ${plural(dry.edges.length, 'edge')}, ${plural(dry.waves.length, 'wave')}`,
  ];
}

/** After a real run: which run, the epic, each key's task id, and how to follow it. */
export function renderWorkflowStarted(r: Started, runKey?: string): string[] {
  const count = Object.keys(r.tasks).length;
  const head = r.created
    ? `Started run ${r.run_id}: epic ${r.epic_id} with ${plural(count, 'task')}`
    : `Run key ${runKey ?? '(given)'} already started run ${r.run_id}: nothing new written (epic ${r.epic_id}, ${plural(count, 'task')})`;
  const width = Math.max(0, ...Object.keys(r.tasks).map((k) => k.length));
  return [
    head,
    ...Object.entries(r.tasks).map(([k, id]) => `  ${k.padEnd(width)}  ${id}`),
    ...(r.skipped.length === 0 ? [] : ['', ...skippedLines(r.skipped)]),
    '',
    `Follow it: loom workflow status ${r.run_id}  (loom ready shows what can start now)`,
  ];
}

const total = (counts: WorkflowRunView['counts']): number => Object.values(counts).reduce((a, b) => a + (b ?? 0), 0);
const doneOf = (counts: WorkflowRunView['counts']): string => `${counts.done ?? 0}/${total(counts)}`;

export function renderRuns(runs: readonly WorkflowRunView[]): string[] {
  if (runs.length === 0) return ['no workflow runs yet: start one with `loom workflow run NAME`'];
  return [
    renderTable(runs, [
      { header: 'RUN', value: (r) => String(r.run_id), align: 'right' },
      { header: 'WORKFLOW', value: (r) => r.workflow },
      { header: 'STATUS', value: (r) => r.status },
      { header: 'DONE', value: (r) => doneOf(r.counts), align: 'right' },
      { header: 'STARTED', value: (r) => shortTime(r.started_at) },
      { header: 'EPIC', value: (r) => r.epic_id },
      { header: 'RUN KEY', value: (r) => r.run_key ?? '-' },
    ]),
    '',
    'details of one: loom workflow status RUN',
  ];
}

/** The run's header, then each step with its tasks (a `uses` step names the steps it includes). */
export function renderRunDetail(r: WorkflowRunDetail): string[] {
  const others = Object.entries(r.counts)
    .filter(([s, n]) => s !== 'done' && (n ?? 0) > 0)
    .map(([s, n]) => `${n} ${s}`);
  const header = [
    `Run ${r.run_id}: ${r.workflow} ${r.version} (${r.source})  ${r.status}`,
    renderFields([
      ['epic', `${r.epic_id}  ${oneLine(r.title)}`],
      ['inputs', inputValues(r.inputs)],
      ['run key', r.run_key ?? undefined],
      ['started', shortTime(r.started_at)],
      ['tasks', `${doneOf(r.counts)} done${others.length === 0 ? '' : ` (${others.join(', ')})`}`],
    ]),
  ];
  const paths = r.steps.map((s) => s.step);
  const statusWidth = Math.max(0, ...r.steps.flatMap((s) => s.tasks.map((t) => t.status.length)));
  const steps = r.steps.flatMap((s) => {
    if (s.skipped !== null) return [`${s.step}  skipped: ${oneLine(s.skipped)}`];
    const inner = paths.filter((p) => p.startsWith(`${s.step}/`));
    if (inner.length > 0) return [`${s.step}  (uses another workflow: ${inner.join(', ')})`];
    return [s.step, ...s.tasks.map((t) => `  ${t.id}  ${t.status.padEnd(statusWidth)}  ${oneLine(t.title)}`)];
  });
  return [...header, '', 'Steps:', ...steps.map((l) => `  ${l}`)];
}

/** `loom workflow run` again, for a hint. */
export const runCommand = (name: string, inputs: Record<string, string>): string =>
  `loom workflow run ${shellQuote(name)}${Object.entries(inputs).map(([k, v]) => ` --input ${shellQuote(`${k}=${v}`)}`).join('')}`;
