import { describe, expect, it } from 'vitest';
import { isTerminal, priorityRank, TASK_ID_PATTERN, TASK_STATUSES, type Priority, type TaskStatus } from '../../src/domain/task.js';

describe('priorityRank', () => {
  it.each<[Priority, Priority]>([
    ['p0', 'p1'],
    ['p1', 'p2'],
    ['p0', 'p2'],
  ])('%s runs before %s', (higher, lower) => {
    expect(priorityRank(higher)).toBeLessThan(priorityRank(lower));
  });

  it('sorts a shuffled list p0 first', () => {
    const list: Priority[] = ['p2', 'p0', 'p1', 'p2', 'p0'];
    expect([...list].sort((a, b) => priorityRank(a) - priorityRank(b))).toEqual(['p0', 'p0', 'p1', 'p2', 'p2']);
  });
});

describe('isTerminal', () => {
  it.each<[TaskStatus, boolean]>([
    ['pending', false],
    ['blocked', false],
    ['claimed', false],
    ['epic', false],
    ['done', true],
    ['failed', true],
    ['cancelled', true],
  ])('%s -> %s', (status, terminal) => {
    expect(isTerminal(status)).toBe(terminal);
  });

  it('knows every status', () => {
    expect([...TASK_STATUSES].sort()).toEqual(['blocked', 'cancelled', 'claimed', 'done', 'epic', 'failed', 'pending']);
  });
});

describe('TASK_ID_PATTERN', () => {
  it.each<[string, boolean]>([
    ['loom-1a2b3c4d', true],
    ['loom-00000000', true],
    ['loom-1A2B3C4D', false],
    ['loom-1a2b3c4', false],
    ['loom-1a2b3c4d5', false],
    ['loom-1a2b3c4g', false],
    ['LOOM-1a2b3c4d', false],
    [' loom-1a2b3c4d', false],
    ['loom-1a2b3c4d\n', false],
    ['task-1a2b3c4d', false],
    ['', false],
  ])('%j -> %s', (id, valid) => {
    expect(TASK_ID_PATTERN.test(id)).toBe(valid);
  });
});
