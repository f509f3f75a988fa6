import { describe, expect, it } from 'vitest';
import { EVENT_TYPES } from '../../src/domain/events.js';

describe('EVENT_TYPES', () => {
  // The names DESIGN.md promises to subscribers (MCP notifications, notifiers, `loom watch`).
  it.each([
    'task.created',
    'task.claimed',
    'task.heartbeat',
    'task.done',
    'task.failed',
    'task.retrying',
    'task.dead_lettered',
    'task.unblocked',
    'task.cancelled',
    'epic.completed',
    'escalation.raised',
    'escalation.resolved',
    'message.sent',
  ])('includes %s', (type) => {
    expect(EVENT_TYPES).toContain(type);
  });

  it('has no duplicates and every name is <noun>.<verb> in snake_case', () => {
    expect(new Set(EVENT_TYPES).size).toBe(EVENT_TYPES.length);
    for (const t of EVENT_TYPES) expect(t).toMatch(/^[a-z]+\.[a-z_]+$/);
  });
});
