import type { JsonObject } from './task.js';

export const EVENT_TYPES = [
  'project.created',
  'task.created',
  'task.updated',
  'task.claimed',
  'task.heartbeat',
  'task.done',
  'task.failed',
  'task.retrying',
  'task.released',
  'task.lease_expired',
  'task.redriven',
  'task.stuck',
  'task.dead_lettered',
  'task.unblocked',
  'task.blocked',
  'task.cancelled',
  'task.held',
  'task.resumed',
  'epic.completed',
  'escalation.raised',
  'escalation.resolved',
  'message.sent',
  'skill.used',
  'project.decomposed',
  'workflow.started',
  'workflow.step_skipped',
  'workflow.round_added',
  'workflow.fanned_out',
  'workflow.completed',
  'project.imported',
  'project.removed',
  'task.imported',
  'task.rate_limited',
  'budget.set',
  'budget.warning',
  'budget.exceeded',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** An event as a decider produces it, before the store gives it an id. */
export interface NewEvent {
  type: EventType;
  task_id: string | null;
  agent_id: string | null;
  payload: JsonObject;
}

export interface LoomEvent extends NewEvent {
  id: number;
  project_id: string;
  at: string;
}
