import { describe, expect, it } from 'vitest';
import type { EventType } from '../../src/domain/events.js';
import {
  boundFindings,
  checkInvariants,
  isStatusBearing,
  repairEvents,
  statusesAfter,
  statusesFromCounters,
  type Finding,
  type InvariantSnapshot,
  type InvariantTask,
  type StatusEvent,
} from '../../src/domain/invariants.js';
import type { TaskStatus } from '../../src/domain/task.js';

const NOW = new Date('2025-06-01T12:00:00.000Z');
const LATER = '2025-06-01T12:05:00.000Z';
const EARLIER = '2025-06-01T11:55:00.000Z';

/** A task as the store reads it; pending with nothing to wait on unless told. */
function t(id: string, over: Partial<InvariantTask> = {}): InvariantTask {
  const status = over.status ?? 'pending';
  return {
    id,
    status,
    parent_id: null,
    depends_on: [],
    inherited: [],
    unmet_deps: 0,
    weight: 0,
    blocked_reason: status === 'blocked' ? 'dependencies' : null,
    assignee: status === 'claimed' ? 'agent-1' : null,
    lease_token: status === 'claimed' ? 'tok' : null,
    lease_expires_at: status === 'claimed' ? LATER : null,
    ...over,
  };
}

/** The event each status is normally left by. */
const USUAL_EVENT: Record<TaskStatus, [EventType, string | null]> = {
  pending: ['task.created', 'pending'],
  blocked: ['task.created', 'blocked'],
  epic: ['task.created', 'epic'],
  claimed: ['task.claimed', null],
  done: ['task.done', null],
  failed: ['task.dead_lettered', null],
  cancelled: ['task.cancelled', null],
};

interface Extra {
  /** Latest status events by task: an override, or null for none at all. */
  events?: Record<string, [EventType, string | null] | null>;
  byHand?: string[];
}

function snapshot(tasks: InvariantTask[], extra: Extra = {}): InvariantSnapshot {
  const latest: StatusEvent[] = [];
  tasks.forEach((task, i) => {
    const e = extra.events?.[task.id] === undefined ? USUAL_EVENT[task.status] : extra.events[task.id];
    if (e !== null && e !== undefined) latest.push({ task_id: task.id, event_id: 100 + i, type: e[0], status: e[1] });
  });
  return { tasks, latest_status_events: latest, done_by_hand: extra.byHand ?? [], event_count: latest.length };
}

const brief = (findings: Finding[]): Array<[string, string[]]> => findings.map((f) => [f.check, f.task_ids]);

interface Row {
  name: string;
  tasks: InvariantTask[];
  extra?: Extra;
  violations?: Array<[string, string[]]>;
  due?: Array<[string, string[]]>;
}

const CLEAN: Row[] = [
  { name: 'an empty project', tasks: [] },
  {
    name: 'a chain: done, claimed, blocked',
    tasks: [
      t('a', { status: 'done' }),
      t('b', { status: 'claimed', depends_on: ['a'], weight: 1 }),
      t('c', { status: 'blocked', depends_on: ['b'], unmet_deps: 1 }),
    ],
  },
  {
    name: 'an epic with a dependency its children inherit',
    tasks: [
      t('x', { weight: 2 }),
      t('e', { status: 'epic', depends_on: ['x'], unmet_deps: 1 }),
      t('c1', { status: 'blocked', parent_id: 'e', depends_on: ['x'], inherited: ['x'], unmet_deps: 1 }),
      t('c2', { status: 'blocked', parent_id: 'e', depends_on: ['x', 'y'], inherited: ['x'], unmet_deps: 2 }),
      t('y', { weight: 1 }),
    ],
  },
  {
    name: 'a completed epic, its children done or cancelled',
    tasks: [t('e', { status: 'done' }), t('c1', { status: 'done', parent_id: 'e' }), t('c2', { status: 'cancelled', parent_id: 'e' })],
  },
  {
    name: 'a dead letter with a dependent blocked on it for a human',
    tasks: [t('a', { status: 'failed', weight: 7 }), t('b', { status: 'blocked', blocked_reason: 'dependency_failed', depends_on: ['a'], unmet_deps: 1 })],
  },
  {
    name: 'a task a person marked done ahead of its dependency',
    tasks: [t('a'), t('b', { status: 'done', depends_on: ['a'], unmet_deps: 1 })],
    extra: { byHand: ['b'] },
  },
  {
    name: 'statuses left by retries, escalations and expired leases',
    tasks: [
      t('r', { status: 'blocked', blocked_reason: 'escalation' }),
      t('s', { status: 'blocked', blocked_reason: 'escalation' }),
      t('u', { status: 'failed' }),
      t('v', { status: 'pending' }),
      t('w', { status: 'blocked', blocked_reason: 'escalation' }),
    ],
    extra: {
      events: {
        r: ['escalation.raised', null],
        s: ['task.lease_expired', null],
        u: ['task.lease_expired', null],
        v: ['task.redriven', null],
        w: ['task.blocked', null],
      },
    },
  },
];

const BROKEN: Row[] = [
  {
    name: 'a dependency cycle',
    tasks: [t('a', { status: 'blocked', depends_on: ['b'], unmet_deps: 1, weight: 2 }), t('b', { status: 'blocked', depends_on: ['a'], unmet_deps: 1, weight: 2 })],
    violations: [['cycle', ['a', 'b']]],
  },
  {
    name: 'a cycle through an epic waiting for its child',
    tasks: [t('e', { status: 'epic' }), t('c', { status: 'blocked', parent_id: 'e', depends_on: ['e'], unmet_deps: 1 })],
    violations: [['cycle', ['c', 'e']]],
  },
  {
    name: 'a claimed task without a lease',
    tasks: [t('a', { status: 'claimed', lease_token: null })],
    violations: [['lease', ['a']]],
  },
  {
    name: 'an expired lease is due, not a violation',
    tasks: [t('a', { status: 'claimed', lease_expires_at: EARLIER })],
    due: [['lease', ['a']]],
  },
  {
    name: 'a done task whose dependency is not done',
    tasks: [t('a'), t('b', { status: 'done', depends_on: ['a'], unmet_deps: 1 })],
    violations: [['done_dependencies', ['b', 'a']]],
  },
  {
    name: 'by hand is read from the latest task.done only for that task',
    tasks: [t('a'), t('b', { status: 'done', depends_on: ['a'], unmet_deps: 1 }), t('c', { status: 'done', depends_on: ['a'], unmet_deps: 1 })],
    extra: { byHand: ['c'] },
    violations: [['done_dependencies', ['b', 'a']]],
  },
  {
    name: 'an unmet_deps counter on a task without dependencies',
    tasks: [t('a', { unmet_deps: 1, status: 'blocked' })],
    violations: [
      ['unmet_deps', ['a']],
      ['readiness', ['a']],
    ],
  },
  {
    name: 'an unmet_deps counter off by one',
    tasks: [t('a', { weight: 1 }), t('b', { status: 'blocked', depends_on: ['a'], unmet_deps: 2 })],
    violations: [['unmet_deps', ['b']]],
  },
  {
    name: 'a stale weight (done tasks are not compared)',
    tasks: [t('a', { weight: 5 }), t('b', { status: 'blocked', depends_on: ['a'], unmet_deps: 1 }), t('d', { status: 'done', weight: 9 })],
    violations: [['weight', ['a']]],
  },
  {
    name: 'a done epic with an open child',
    tasks: [t('e', { status: 'done' }), t('c', { status: 'claimed', parent_id: 'e' }), t('k', { status: 'done', parent_id: 'e' })],
    violations: [['epic_children', ['e', 'c']]],
  },
  {
    name: 'an epic whose children all finished is due',
    tasks: [t('e', { status: 'epic' }), t('c1', { status: 'done', parent_id: 'e' }), t('c2', { status: 'cancelled', parent_id: 'e' })],
    due: [['epic_completion', ['e']]],
  },
  {
    name: 'an epic with only cancelled children never completes: nothing due',
    tasks: [t('e', { status: 'epic' }), t('c1', { status: 'cancelled', parent_id: 'e' })],
  },
  {
    name: "a child missing its epic's dependency",
    tasks: [t('x'), t('e', { status: 'epic', depends_on: ['x'], unmet_deps: 1 }), t('c', { parent_id: 'e' })],
    violations: [['epic_dependencies', ['c', 'e', 'x']]],
  },
  {
    name: 'an inherited edge its epic no longer has',
    tasks: [t('x', { weight: 1 }), t('e', { status: 'epic' }), t('c', { status: 'blocked', parent_id: 'e', depends_on: ['x'], inherited: ['x'], unmet_deps: 1 })],
    violations: [['epic_dependencies', ['c', 'x']]],
  },
  {
    name: 'finished children are not held to their epic',
    tasks: [t('x'), t('e', { status: 'epic', depends_on: ['x'], unmet_deps: 1 }), t('c', { status: 'cancelled', parent_id: 'e' })],
  },
  {
    name: 'blocked on dependencies that are all done',
    tasks: [t('a', { status: 'done' }), t('b', { status: 'blocked', depends_on: ['a'] })],
    violations: [['readiness', ['b']]],
  },
  {
    name: 'pending with a dependency not done',
    tasks: [t('a', { weight: 1 }), t('b', { depends_on: ['a'], unmet_deps: 1 })],
    violations: [['readiness', ['b', 'a']]],
  },
  {
    name: 'blocked on a failed dependency is due (the failure policy backstop)',
    tasks: [t('a', { status: 'failed' }), t('b', { status: 'blocked', depends_on: ['a'], unmet_deps: 1 })],
    due: [['dependency_failed', ['b', 'a']]],
  },
  {
    name: 'a task without any status event',
    tasks: [t('a'), t('b')],
    extra: { events: { b: null } },
    violations: [['events', ['b']]],
  },
  {
    name: 'a claimed task whose claim event is missing',
    tasks: [t('a', { status: 'claimed' })],
    extra: { events: { a: ['task.created', 'pending'] } },
    violations: [['events', ['a']]],
  },
  {
    name: 'a done task whose latest status event is a retry',
    tasks: [t('a', { status: 'done' })],
    extra: { events: { a: ['task.retrying', null] } },
    violations: [['events', ['a']]],
  },
];

describe('checkInvariants', () => {
  it.each(CLEAN)('reports nothing for $name', (row) => {
    const r = checkInvariants(snapshot(row.tasks, row.extra), NOW);
    expect(brief(r.violations)).toEqual([]);
    expect(brief(r.due)).toEqual([]);
  });

  it.each(BROKEN)('$name', (row) => {
    const r = checkInvariants(snapshot(row.tasks, row.extra), NOW);
    expect(brief(r.violations)).toEqual(row.violations ?? []);
    expect(brief(r.due)).toEqual(row.due ?? []);
    for (const f of [...r.violations, ...r.due]) {
      // Every message names the first task involved, so a reader needs no lookup.
      expect(f.message).toContain(f.task_ids[0]);
    }
  });

  it('names the cycle path, and says when an epic waiting for its child closes it', () => {
    const r = checkInvariants(snapshot(BROKEN[1]!.tasks), NOW);
    expect(r.violations[0]!.message).toBe('dependency cycle: c -> e -> c (an epic waits for its children)');
    const plain = checkInvariants(snapshot(BROKEN[0]!.tasks), NOW);
    expect(plain.violations[0]!.message).toBe('dependency cycle: a -> b -> a');
  });

  it('counts what it checked', () => {
    const r = checkInvariants(snapshot(CLEAN[2]!.tasks), NOW);
    expect(r.checked).toEqual({ tasks: 5, edges: 4, events: 5 });
  });

  it('lists several findings for one task, one per broken invariant', () => {
    const tasks = [t('a', { weight: 3 }), t('b', { status: 'done', depends_on: ['a'], unmet_deps: 0 })];
    const r = checkInvariants(snapshot(tasks, { events: { b: ['task.created', 'blocked'] } }), NOW);
    expect(brief(r.violations)).toEqual([
      ['weight', ['a']],
      ['done_dependencies', ['b', 'a']],
      ['unmet_deps', ['b']],
      ['events', ['b']],
    ]);
  });
});

describe('status-bearing events', () => {
  it.each<[EventType, Record<string, unknown>, boolean]>([
    ['task.created', {}, true],
    ['task.claimed', {}, true],
    ['task.lease_expired', {}, true],
    ['epic.completed', {}, true],
    ['escalation.raised', { source: 'agent' }, true],
    ['escalation.raised', { source: 'policy' }, false],
    ['task.heartbeat', {}, false],
    ['task.failed', {}, false],
    ['task.updated', {}, false],
    ['task.stuck', {}, false],
    ['escalation.resolved', {}, false],
    ['message.sent', {}, false],
  ])('%s %j: %s', (type, payload, bearing) => {
    expect(isStatusBearing(type, payload)).toBe(bearing);
  });

  it.each<[EventType, string | null, TaskStatus[]]>([
    ['task.created', 'blocked', ['blocked']],
    ['task.created', null, ['pending', 'blocked', 'epic']],
    ['task.claimed', null, ['claimed']],
    ['task.done', null, ['done']],
    ['epic.completed', null, ['done']],
    ['task.retrying', null, ['pending', 'blocked']],
    ['task.released', null, ['pending', 'blocked']],
    ['task.redriven', null, ['pending', 'blocked']],
    ['task.lease_expired', null, ['pending', 'blocked', 'failed']],
    ['task.dead_lettered', null, ['failed']],
    ['task.unblocked', null, ['pending']],
    ['task.blocked', null, ['blocked']],
    ['task.cancelled', null, ['cancelled']],
    ['escalation.raised', null, ['blocked']],
  ])('after %s (%s) a task is %j', (type, status, statuses) => {
    expect([...statusesAfter({ type, status })]).toEqual(statuses);
  });
});

describe('boundFindings', () => {
  it('keeps the first of each check and counts the rest', () => {
    const many: Finding[] = [
      ...Array.from({ length: 250 }, (_, i): Finding => ({ check: 'weight', message: `w${i}`, task_ids: [`w${i}`] })),
      { check: 'cycle', message: 'c', task_ids: Array.from({ length: 500 }, (_, i) => `c${i}`) },
    ];
    const kept = boundFindings(many, 200);
    expect(kept.filter((f) => f.check === 'weight')).toHaveLength(201);
    expect(kept.at(-1)).toEqual({ check: 'weight', message: '50 more weight finding(s) not listed', task_ids: [] });
    expect(kept.find((f) => f.check === 'cycle')!.task_ids).toHaveLength(200);
  });
});

describe('repairs', () => {
  it('moves the tasks whose status follows from their recounted counters', () => {
    expect(
      statusesFromCounters([
        t('a', { status: 'blocked', unmet_deps: 0 }),
        t('b', { status: 'blocked', blocked_reason: 'escalation', unmet_deps: 0 }),
        t('c', { status: 'pending', unmet_deps: 2 }),
        t('d', { status: 'claimed', unmet_deps: 1 }),
        t('e', { status: 'blocked', unmet_deps: 1 }),
      ]),
    ).toEqual({ unblocked: ['a'], blocked: ['c'] });
  });

  it("keeps blocked a task missing its epic's dependency, though its own counter says it could run", () => {
    expect(
      statusesFromCounters([
        t('x'),
        t('epic', { status: 'epic', depends_on: ['x'], unmet_deps: 1 }),
        t('lost', { status: 'blocked', parent_id: 'epic', unmet_deps: 0 }),
        t('kept', { status: 'blocked', parent_id: 'epic', depends_on: ['x', 'y'], unmet_deps: 0 }),
      ]),
    ).toEqual({ unblocked: ['kept'], blocked: [] });
  });

  it('writes one task.updated per recounted task, then the status events', () => {
    const events = repairEvents({
      unmet_deps: [{ id: 'b', from: 2, to: 0 }],
      weights: [
        { id: 'a', from: 5, to: 1 },
        { id: 'b', from: 0, to: 1 },
      ],
      unblocked: ['b'],
      blocked: ['c'],
    });
    expect(events).toEqual([
      { type: 'task.updated', task_id: 'a', agent_id: null, payload: { changed: ['weight'], weight: { from: 5, to: 1 }, by: 'fsck' } },
      {
        type: 'task.updated',
        task_id: 'b',
        agent_id: null,
        payload: { changed: ['unmet_deps', 'weight'], unmet_deps: { from: 2, to: 0 }, weight: { from: 0, to: 1 }, by: 'fsck' },
      },
      { type: 'task.unblocked', task_id: 'b', agent_id: null, payload: { by: 'fsck' } },
      { type: 'task.blocked', task_id: 'c', agent_id: null, payload: { reason: 'dependencies', by: 'fsck' } },
    ]);
  });
});
