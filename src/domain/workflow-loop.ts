import type { PlannedTask } from './plan.js';
import type { JsonObject, Task } from './task.js';

/**
 * Review loops: a workflow step with `loop: {until, max_rounds, repeat}`.
 * When its task is done and `until` does not hold for its output, one more
 * round is added (the repeated steps again, wired after it, then the step
 * itself), until max_rounds; then a human is asked instead. Pure: the use
 * case evaluates `until`, reads the round's tasks and writes the result in
 * the completing transaction (so a round is added exactly once).
 */

export interface LoopSpec {
  /** The CEL condition on the step's output that ends the loop. */
  until: string;
  max_rounds: number;
  /** Step paths repeated each round (in the workflow's order). */
  repeat: string[];
}

/** The loop a task carries (context.workflow_loop, written when the run started), or null. */
export function loopSpecOf(task: Pick<Task, 'context'>): LoopSpec | null {
  const l = task.context.workflow_loop as unknown;
  if (l === null || typeof l !== 'object' || Array.isArray(l)) return null;
  const { until, max_rounds, repeat } = l as Record<string, unknown>;
  if (typeof until !== 'string' || typeof max_rounds !== 'number' || !Array.isArray(repeat) || !repeat.every((r) => typeof r === 'string')) return null;
  return { until, max_rounds, repeat: repeat as string[] };
}

/** The round a workflow task belongs to (1 for the tasks the run started with). */
export const roundOf = (task: Pick<Task, 'context'>): number => (typeof task.context.round === 'number' ? task.context.round : 1);

export type LoopDecision = { kind: 'finished' } | { kind: 'add_round'; round: number } | { kind: 'escalate'; message: string };

/** What a finished loop step leads to, given whether `until` held for its output (an evaluation error counts as not). */
export function decideLoopRound(spec: LoopSpec, round: number, until: { held: boolean; error?: string }): LoopDecision {
  if (until.held) return { kind: 'finished' };
  if (round < spec.max_rounds) return { kind: 'add_round', round: round + 1 };
  const why = until.error === undefined ? `${spec.until} still does not hold` : `${spec.until} could not be evaluated (${until.error})`;
  return {
    kind: 'escalate',
    message: `round ${round} of ${spec.max_rounds} ended and ${why}: a person decides now (retry the review, mark it done, or cancel)`,
  };
}

/**
 * The tasks of the next round: a copy of each repeated step's task of this
 * round (its edges to other repeated steps follow the copies; its other
 * edges stay; those that waited on no repeated step now wait on the loop
 * step that asked for the round, whose output they receive), then a copy of
 * the loop step waiting on the copies of what it waited on.
 */
export function planRound(loopTask: Task, repeated: readonly Task[], round: number, output: JsonObject | undefined): PlannedTask[] {
  // The task's key in its run (impl-2 for a fan-out's second task), without an earlier round's suffix.
  const keyOf = (t: Task): string => `${String(t.context.plan_key ?? t.context.step ?? t.id).replace(/\//g, '-').replace(/-r\d+$/, '')}-r${round}`;
  const copies = new Map(repeated.map((t) => [t.id, keyOf(t)]));
  const findings: unknown = output?.findings ?? output ?? null;
  const review = { task_id: loopTask.id, round: round - 1, findings };
  const copy = (t: Task, depends_on: string[], extra: JsonObject): PlannedTask => {
    const { skill, plan_key: _k, ...context } = t.context;
    void _k;
    return {
      key: keyOf(t),
      title: `${t.title} (round ${round})`.slice(0, 500),
      done_when: t.done_when,
      depends_on,
      priority: t.priority,
      context: { ...context, round, ...extra },
      skill: typeof skill === 'string' ? skill : null,
      max_attempts: t.max_attempts,
    };
  };
  const tasks: PlannedTask[] = [];
  for (const t of repeated) {
    const deps = t.depends_on.filter((d) => d !== loopTask.id).map((d) => copies.get(d) ?? d);
    const waitsOnRepeated = t.depends_on.some((d) => copies.has(d));
    tasks.push(copy(t, waitsOnRepeated ? deps : [...deps, loopTask.id], { review }));
  }
  const loopDeps = loopTask.depends_on.map((d) => copies.get(d) ?? d);
  tasks.push(copy(loopTask, [...new Set([...loopDeps, loopTask.id])], { previous_review: review }));
  return tasks;
}
