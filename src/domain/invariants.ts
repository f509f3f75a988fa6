import type { EventType, NewEvent } from './events.js';
import { cyclesIn, expectedWeights, indexGraph, weightsOf } from './graph-walks.js';
import { TASK_STATUSES, type BlockedReason, type TaskStatus } from './task.js';

/**
 * The invariants of a stored task graph, checked over a snapshot (`loom
 * fsck`). Pure: the store reads the snapshot, the caller passes the time.
 * A violation is state no use case should ever leave behind; "due" is state
 * the reconcile tick is about to act on (an expired lease, a finished epic).
 * Held tasks (`loom hold`) need no exception: held is a flag beside the
 * status, which goes on following the graph while held, and task.held and
 * task.resumed set no status (a resume that changes one also writes
 * task.unblocked or task.blocked), so every check holds for them as is.
 */

/** The slice of a task the checks read. */
export interface InvariantTask {
  id: string;
  status: TaskStatus;
  parent_id: string | null;
  /** Every dependency (its task_deps rows). */
  depends_on: string[];
  /** Those of `depends_on` inherited from its epic (task_deps.inherited). */
  inherited: string[];
  unmet_deps: number;
  weight: number;
  blocked_reason: BlockedReason | null;
  assignee: string | null;
  lease_token: string | null;
  lease_expires_at: string | null;
}

/** The latest status-bearing event of a task (see `isStatusBearing`). */
export interface StatusEvent {
  task_id: string;
  event_id: number;
  type: EventType;
  /** payload.status, which only task.created carries. */
  status: string | null;
}

export interface InvariantSnapshot {
  tasks: InvariantTask[];
  /** At most one per task: its latest status-bearing event. */
  latest_status_events: StatusEvent[];
  /** Tasks whose latest task.done event says a person marked them done (payload.by_hand). */
  done_by_hand: string[];
  /** How many events the project's log holds (reported, not checked). */
  event_count: number;
}

export const INVARIANT_CHECKS = [
  'cycle',
  'lease',
  'done_dependencies',
  'unmet_deps',
  'weight',
  'epic_children',
  'epic_dependencies',
  'readiness',
  'events',
] as const;
/** Due: what the next reconcile tick will act on. */
export const DUE_CHECKS = ['lease', 'epic_completion', 'dependency_failed'] as const;
export type InvariantCheck = (typeof INVARIANT_CHECKS)[number] | (typeof DUE_CHECKS)[number];

export interface Finding {
  check: InvariantCheck;
  message: string;
  task_ids: string[];
}

export interface InvariantReport {
  violations: Finding[];
  due: Finding[];
  checked: { tasks: number; edges: number; events: number };
}

/** Work that has not finished: an epic is open until it completes or is cancelled. */
const OPEN: readonly TaskStatus[] = ['pending', 'blocked', 'claimed', 'epic'];
/** Open work whose weight is kept (an epic is a container, not work). */
const OPEN_WORK: readonly TaskStatus[] = ['pending', 'blocked', 'claimed'];

/**
 * The events that set a task's status, and the statuses each leaves it in.
 * Every use case writes one of these with each status change (task.failed
 * is always followed by task.retrying or task.dead_lettered, so it is not
 * one of them). task.lease_expired alone leaves a task blocked when the
 * lease ran out too often (an escalation raised by policy, which sets no
 * status of its own); otherwise task.retrying or task.dead_lettered follows.
 */
const STATUSES_AFTER: Partial<Record<EventType, readonly TaskStatus[]>> = {
  'task.claimed': ['claimed'],
  'task.done': ['done'],
  'epic.completed': ['done'],
  'task.retrying': ['pending', 'blocked'],
  'task.released': ['pending', 'blocked'],
  'task.redriven': ['pending', 'blocked'],
  'task.lease_expired': ['pending', 'blocked', 'failed'],
  'task.dead_lettered': ['failed'],
  'task.unblocked': ['pending'],
  'task.blocked': ['blocked'],
  'task.cancelled': ['cancelled'],
};
/** What a new task can be: its task.created payload names which. */
const CREATED_AS: readonly TaskStatus[] = ['pending', 'blocked', 'epic'];

/** Types that may be status-bearing; escalation.raised is, only when an agent raised it. */
export const STATUS_EVENT_TYPES: readonly EventType[] = [...(Object.keys(STATUSES_AFTER) as EventType[]), 'task.created', 'task.imported', 'escalation.raised'];

/** Whether an event sets its task's status (the store picks each task's latest such event with this rule). */
export function isStatusBearing(type: EventType, payload: { source?: unknown }): boolean {
  if (type === 'escalation.raised') return payload.source === 'agent';
  return STATUS_EVENT_TYPES.includes(type);
}

/** The statuses a task may have when this is its latest status-bearing event. */
export function statusesAfter(event: Pick<StatusEvent, 'type' | 'status'>): readonly TaskStatus[] {
  if (event.type === 'task.created') {
    return CREATED_AS.includes(event.status as TaskStatus) ? [event.status as TaskStatus] : CREATED_AS;
  }
  if (event.type === 'escalation.raised') return ['blocked'];
  // An import without the event log writes one per task: the status the task arrived with.
  if (event.type === 'task.imported') return TASK_STATUSES.includes(event.status as TaskStatus) ? [event.status as TaskStatus] : [];
  return STATUSES_AFTER[event.type] ?? [];
}

/** Findings of one check are listed up to this many; the rest are counted. */
export const FINDINGS_PER_CHECK = 200;
/** Ids named in one finding's message. */
const IDS_IN_MESSAGE = 10;

const list = (ids: readonly string[], max = IDS_IN_MESSAGE): string =>
  ids.length <= max ? ids.join(', ') : `${ids.slice(0, max).join(', ')} and ${ids.length - max} more`;
/** A cycle [a, b, ..., a] as "a -> b -> ... -> a", its middle left out when long. */
const path = (cycle: readonly string[]): string =>
  cycle.length <= 21 ? cycle.join(' -> ') : `${cycle.slice(0, 10).join(' -> ')} -> ... (${cycle.length - 11} more) -> ${cycle.slice(-10).join(' -> ')}`;
const WORDS: Record<string, string> = { dependency: 'dependencies', child: 'children' };
const plural = (n: number, word: string): string => `${n} ${n === 1 ? word : (WORDS[word] ?? `${word}s`)}`;

/** Checks every invariant over the snapshot. Findings come unbounded, in task order; see `boundFindings`. */
export function checkInvariants(s: InvariantSnapshot, now: Date): InvariantReport {
  const byId = new Map(s.tasks.map((t) => [t.id, t]));
  const children = childrenOf(s.tasks);
  const violations: Finding[] = [];
  const due: Finding[] = [];
  const flag = (check: InvariantCheck, message: string, task_ids: string[]): number => violations.push({ check, message, task_ids });
  const none: string[] = [];
  const notDone = (t: InvariantTask): string[] => (t.depends_on.length === 0 ? none : t.depends_on.filter((d) => byId.get(d)?.status !== 'done'));
  const graph = indexGraph(s.tasks);

  for (const cycle of cyclesIn(graph)) {
    const viaChild = cycle.slice(0, -1).some((id, i) => byId.get(cycle[i + 1]!)?.parent_id === id);
    flag(
      'cycle',
      `dependency cycle: ${path(cycle)}${viaChild ? ' (an epic waits for its children)' : ''}`,
      cycle.slice(0, -1).slice(0, FINDINGS_PER_CHECK),
    );
  }

  const byHand = new Set(s.done_by_hand);
  const latest = new Map(s.latest_status_events.map((e) => [e.task_id, e]));
  const weights = weightsOf(graph);

  for (const t of s.tasks) {
    const unmet = notDone(t);

    if (t.status === 'claimed') {
      const missing = (['lease_token', 'lease_expires_at', 'assignee'] as const).filter((k) => t[k] === null);
      if (missing.length > 0) flag('lease', `${t.id} is claimed without ${missing.join(', ')}`, [t.id]);
      else if (Date.parse(t.lease_expires_at!) <= now.getTime()) {
        due.push({ check: 'lease', message: `${t.id}: the lease of ${t.assignee} expired at ${t.lease_expires_at}; the tick requeues it`, task_ids: [t.id] });
      }
    }

    if (t.status === 'done' && unmet.length > 0 && !byHand.has(t.id)) {
      flag('done_dependencies', `${t.id} is done but ${plural(unmet.length, 'dependency')} ${unmet.length === 1 ? 'is' : 'are'} not: ${list(unmet)}`, [t.id, ...unmet]);
    }

    if (t.unmet_deps !== unmet.length) {
      const actual =
        t.depends_on.length === 0
          ? 'it has no dependencies'
          : `${unmet.length} of its ${plural(t.depends_on.length, 'dependency')} ${unmet.length === 1 ? 'is' : 'are'} not done`;
      flag('unmet_deps', `${t.id} has unmet_deps ${t.unmet_deps}, but ${actual}`, [t.id]);
    }

    const weight = weights.get(t.id);
    if (OPEN_WORK.includes(t.status) && weight !== undefined && t.weight !== weight) {
      flag('weight', `${t.id} has weight ${t.weight}, but ${plural(weight, 'open task')} ${weight === 1 ? 'waits' : 'wait'} on it`, [t.id]);
    }

    const kids = children.get(t.id) ?? [];
    if (t.status === 'done') {
      const open = kids.filter((c) => OPEN.includes(c.status)).map((c) => c.id);
      if (open.length > 0) flag('epic_children', `epic ${t.id} is done but ${plural(open.length, 'child')} ${open.length === 1 ? 'is' : 'are'} still open: ${list(open)}`, [t.id, ...open]);
    } else if (t.status === 'epic' && kids.length > 0 && kids.some((c) => c.status === 'done') && kids.every((c) => c.status === 'done' || c.status === 'cancelled')) {
      const message =
        unmet.length === 0
          ? `epic ${t.id}: all ${plural(kids.length, 'child')} finished; the tick completes it`
          : `epic ${t.id}: all ${plural(kids.length, 'child')} finished; the tick completes it although ${plural(unmet.length, 'dependency')} ${unmet.length === 1 ? 'is' : 'are'} not done: ${list(unmet)}`;
      due.push({ check: 'epic_completion', message, task_ids: [t.id] });
    }

    if (OPEN.includes(t.status)) {
      const parent = t.parent_id === null ? undefined : byId.get(t.parent_id);
      const missing = parent === undefined ? none : parent.depends_on.filter((d) => !t.depends_on.includes(d));
      if (missing.length > 0) {
        flag('epic_dependencies', `${t.id} lacks ${plural(missing.length, 'dependency')} of its epic ${parent!.id}: ${list(missing)}`, [t.id, parent!.id, ...missing]);
      }
      const stale = t.inherited.length === 0 ? none : t.inherited.filter((d) => parent === undefined || !parent.depends_on.includes(d));
      if (stale.length > 0) {
        const whose = parent === undefined ? 'it has no epic' : `its epic ${parent.id} does not depend on ${stale.length === 1 ? 'it' : 'them'}`;
        flag('epic_dependencies', `${t.id} inherits ${plural(stale.length, 'dependency')} (${list(stale)}) but ${whose}`, [t.id, ...stale]);
      }
    }

    if (t.status === 'blocked' && t.blocked_reason === 'dependencies') {
      if (unmet.length === 0) {
        flag('readiness', `${t.id} is blocked on dependencies, but ${t.depends_on.length === 0 ? 'it has none' : 'all of them are done'}`, [t.id]);
      } else {
        const failed = unmet.filter((d) => byId.get(d)?.status === 'failed' || byId.get(d)?.status === 'cancelled');
        if (failed.length > 0) {
          due.push({ check: 'dependency_failed', message: `${t.id} waits on ${list(failed)}, which will not complete; the tick applies the failure policy`, task_ids: [t.id, ...failed] });
        }
      }
    }
    if (t.status === 'pending' && unmet.length > 0) {
      flag('readiness', `${t.id} is pending (claimable) but ${plural(unmet.length, 'dependency')} ${unmet.length === 1 ? 'is' : 'are'} not done: ${list(unmet)}`, [t.id, ...unmet]);
    }

    const event = latest.get(t.id);
    if (event === undefined) {
      flag('events', `${t.id} is ${t.status} but the event log has no event that set a status (not even task.created)`, [t.id]);
    } else {
      const allowed = statusesAfter(event);
      if (!allowed.includes(t.status)) {
        flag('events', `${t.id} is ${t.status}, but its latest status event (#${event.event_id} ${event.type}) leaves it ${allowed.join(' or ')}`, [t.id]);
      }
    }
  }

  const edges = s.tasks.reduce((n, t) => n + t.depends_on.length, 0);
  return { violations, due, checked: { tasks: s.tasks.length, edges, events: s.event_count } };
}

/** Keeps at most `perCheck` findings of each check, in order, and says how many more there were. */
export function boundFindings(findings: readonly Finding[], perCheck = FINDINGS_PER_CHECK): Finding[] {
  const kept: Finding[] = [];
  const extra = new Map<InvariantCheck, number>();
  const seen = new Map<InvariantCheck, number>();
  for (const f of findings) {
    const n = (seen.get(f.check) ?? 0) + 1;
    seen.set(f.check, n);
    if (n <= perCheck) kept.push({ ...f, task_ids: f.task_ids.slice(0, perCheck) });
    else extra.set(f.check, (extra.get(f.check) ?? 0) + 1);
  }
  for (const [check, n] of extra) kept.push({ check, message: `${n} more ${check} finding(s) not listed`, task_ids: [] });
  return kept;
}

function childrenOf(tasks: readonly InvariantTask[]): Map<string, InvariantTask[]> {
  const children = new Map<string, InvariantTask[]>();
  for (const t of tasks) {
    if (t.parent_id === null) continue;
    const kids = children.get(t.parent_id) ?? [];
    kids.push(t);
    children.set(t.parent_id, kids);
  }
  return children;
}

/** Open work whose stored weight differs from its critical-path weight, with both. */
export function staleWeights(tasks: ReadonlyArray<Pick<InvariantTask, 'id' | 'status' | 'depends_on' | 'weight'>>): Array<{ id: string; from: number; to: number }> {
  const expected = expectedWeights(tasks);
  return tasks
    .filter((t) => OPEN_WORK.includes(t.status) && expected.has(t.id) && expected.get(t.id) !== t.weight)
    .map((t) => ({ id: t.id, from: t.weight, to: expected.get(t.id)! }));
}

/** Counters a repair recounted, and what follows from them for each task's status. */
export interface CounterRepair {
  unmet_deps: Array<{ id: string; from: number; to: number }>;
  weights: Array<{ id: string; from: number; to: number }>;
  /** Blocked on dependencies with none left unmet: pending now. */
  unblocked: string[];
  /** Pending with unmet dependencies: blocked on them now. */
  blocked: string[];
}

/**
 * Which tasks change status once their counters are right (tasks as they
 * are after the recount). A task missing a dependency of its epic stays
 * blocked: its counter is right, but it is not safe to run; a person adds
 * the edge.
 */
export function statusesFromCounters(
  tasks: ReadonlyArray<Pick<InvariantTask, 'id' | 'status' | 'blocked_reason' | 'unmet_deps' | 'parent_id' | 'depends_on'>>,
): { unblocked: string[]; blocked: string[] } {
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const missesEpicDependency = (t: (typeof tasks)[number]): boolean => {
    const parent = t.parent_id === null ? undefined : byId.get(t.parent_id);
    return parent !== undefined && parent.depends_on.some((d) => !t.depends_on.includes(d));
  };
  return {
    unblocked: tasks
      .filter((t) => t.status === 'blocked' && t.blocked_reason === 'dependencies' && t.unmet_deps === 0 && !missesEpicDependency(t))
      .map((t) => t.id)
      .sort(),
    blocked: tasks.filter((t) => t.status === 'pending' && t.unmet_deps > 0).map((t) => t.id).sort(),
  };
}

/**
 * The events of a repair: the counters it rewrote (task.updated, so the log
 * and the read cache hear of them), then each status it moved.
 */
export function repairEvents(r: CounterRepair): NewEvent[] {
  const changes = new Map<string, Record<string, { from: number; to: number }>>();
  for (const [field, rows] of [['unmet_deps', r.unmet_deps], ['weight', r.weights]] as const) {
    for (const row of rows) changes.set(row.id, { ...changes.get(row.id), [field]: { from: row.from, to: row.to } });
  }
  const events: NewEvent[] = [...changes]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([id, fields]) => ({ type: 'task.updated', task_id: id, agent_id: null, payload: { changed: Object.keys(fields), ...fields, by: 'fsck' } }));
  for (const id of r.unblocked) events.push({ type: 'task.unblocked', task_id: id, agent_id: null, payload: { by: 'fsck' } });
  for (const id of r.blocked) events.push({ type: 'task.blocked', task_id: id, agent_id: null, payload: { reason: 'dependencies', by: 'fsck' } });
  return events;
}
