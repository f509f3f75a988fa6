import { describe, expect, it } from 'vitest';
import { LoomError } from '../../src/domain/errors.js';
import { TASK_STATUSES, type TaskStatus } from '../../src/domain/task.js';
import { assertTransition, canTransition, TRANSITIONS } from '../../src/domain/transitions.js';

/**
 * The expected table, written out by hand (not derived from TRANSITIONS), so a
 * change to the domain table is a visible, reviewed change to this test.
 */
const LEGAL: ReadonlyArray<[TaskStatus, TaskStatus, string]> = [
  ['pending', 'claimed', 'an agent claims ready work'],
  ['pending', 'blocked', 'a human escalation blocks a waiting task'],
  ['pending', 'cancelled', 'a human cancels work not started'],
  ['pending', 'done', 'a human marks work done without a claim'],
  ['blocked', 'pending', 'the last dependency completes'],
  ['blocked', 'blocked', 'the reason for blocking changes (dependencies -> escalation)'],
  ['blocked', 'cancelled', 'a failed dependency cancels its dependents'],
  ['blocked', 'done', 'a human resolves an escalation as done'],
  ['claimed', 'done', 'the agent completes its work'],
  ['claimed', 'pending', 'a retryable failure or an expired lease requeues'],
  ['claimed', 'failed', 'attempts run out: dead letter'],
  ['claimed', 'blocked', 'the agent escalates to a human'],
  ['claimed', 'cancelled', 'a human cancels running work'],
  ['failed', 'pending', 'redrive'],
  ['failed', 'blocked', 'redrive of a task whose dependencies are not done'],
  ['failed', 'cancelled', 'a human gives up on a dead letter'],
  ['failed', 'done', 'a human resolves a dead letter by doing the work'],
  ['epic', 'done', 'every child is done'],
  ['epic', 'cancelled', 'a human cancels the epic'],
];

const legalKey = new Set(LEGAL.map(([from, to]) => `${from}->${to}`));
const ILLEGAL: Array<[TaskStatus, TaskStatus]> = TASK_STATUSES.flatMap((from) =>
  TASK_STATUSES.filter((to) => !legalKey.has(`${from}->${to}`)).map((to): [TaskStatus, TaskStatus] => [from, to]),
);

describe('transition table', () => {
  it('covers every status as a source', () => {
    expect(Object.keys(TRANSITIONS).sort()).toEqual([...TASK_STATUSES].sort());
  });

  it('has exactly the legal transitions listed here', () => {
    const actual = TASK_STATUSES.flatMap((from) => TRANSITIONS[from].map((to) => `${from}->${to}`)).sort();
    expect(actual).toEqual([...legalKey].sort());
  });

  it('partitions all 49 pairs into legal and illegal', () => {
    expect(LEGAL.length + ILLEGAL.length).toBe(TASK_STATUSES.length ** 2);
  });
});

describe.each(LEGAL)('legal: %s -> %s (%s)', (from, to) => {
  it('is allowed', () => {
    expect(canTransition(from, to)).toBe(true);
    expect(() => assertTransition('loom-0000abcd', from, to, 'change')).not.toThrow();
  });
});

describe.each(ILLEGAL)('illegal: %s -> %s', (from, to) => {
  it('is refused with INVALID_TRANSITION, a message naming the task and a hint', () => {
    expect(canTransition(from, to)).toBe(false);
    let caught: unknown;
    try {
      assertTransition('loom-0000abcd', from, to, 'complete');
    } catch (e) {
      caught = e;
    }
    expect(LoomError.is(caught)).toBe(true);
    const err = caught as LoomError;
    expect(err.code).toBe('INVALID_TRANSITION');
    expect(err.message).toContain('loom-0000abcd');
    expect(err.message).toContain('complete');
    expect(err.message).toContain(from);
    expect(err.hint).toEqual(expect.any(String));
    expect(err.hint!.length).toBeGreaterThan(10);
    expect(err.details).toEqual({ task_id: 'loom-0000abcd', from, to });
  });
});

describe('hints', () => {
  it.each(['done', 'cancelled'] as const)('say %s is final', (from) => {
    try {
      assertTransition('loom-0000abcd', from, 'pending', 'redrive');
      expect.unreachable('should have thrown');
    } catch (e) {
      expect((e as LoomError).hint).toContain(`${from} is final`);
    }
  });

  it.each([
    ['failed', 'claimed', ['pending', 'blocked', 'cancelled', 'done']],
    ['epic', 'claimed', ['done', 'cancelled']],
    ['pending', 'failed', ['claimed', 'blocked', 'cancelled', 'done']],
  ] as const)('from %s to %s list the statuses that are allowed', (from, to, allowed) => {
    try {
      assertTransition('loom-0000abcd', from, to, 'change');
      expect.unreachable('should have thrown');
    } catch (e) {
      const hint = (e as LoomError).hint!;
      for (const s of allowed) expect(hint).toContain(s);
      expect(hint).not.toContain(`, ${to}`);
    }
  });
});
