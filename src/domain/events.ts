import type { JsonObject } from './task.js';

/**
 * Every event type, written out: the plugin API exports this union, and its
 * report (src/plugins/plugin-api.api.md) lists each member, so a new event
 * type shows as a change of the plugin API (a minor version).
 */
export type EventType =
  | 'project.created'
  | 'task.created'
  | 'task.updated'
  | 'task.claimed'
  | 'task.heartbeat'
  | 'task.done'
  | 'task.failed'
  | 'task.retrying'
  | 'task.released'
  | 'task.lease_expired'
  | 'task.redriven'
  | 'task.stuck'
  | 'task.dead_lettered'
  | 'task.unblocked'
  | 'task.blocked'
  | 'task.cancelled'
  | 'task.held'
  | 'task.resumed'
  | 'epic.completed'
  | 'escalation.raised'
  | 'escalation.resolved'
  | 'message.sent'
  | 'skill.used'
  | 'project.decomposed'
  | 'workflow.started'
  | 'workflow.step_skipped'
  | 'workflow.round_added'
  | 'workflow.fanned_out'
  | 'workflow.completed'
  | 'project.imported'
  | 'project.removed'
  | 'task.imported'
  | 'task.rate_limited'
  | 'budget.set'
  | 'budget.warning'
  | 'budget.exceeded';

// A record of every EventType: the compiler refuses a missing or an extra one, so the list below matches the union.
const EVENT_TYPE_SET: Record<EventType, true> = {
  'project.created': true,
  'task.created': true,
  'task.updated': true,
  'task.claimed': true,
  'task.heartbeat': true,
  'task.done': true,
  'task.failed': true,
  'task.retrying': true,
  'task.released': true,
  'task.lease_expired': true,
  'task.redriven': true,
  'task.stuck': true,
  'task.dead_lettered': true,
  'task.unblocked': true,
  'task.blocked': true,
  'task.cancelled': true,
  'task.held': true,
  'task.resumed': true,
  'epic.completed': true,
  'escalation.raised': true,
  'escalation.resolved': true,
  'message.sent': true,
  'skill.used': true,
  'project.decomposed': true,
  'workflow.started': true,
  'workflow.step_skipped': true,
  'workflow.round_added': true,
  'workflow.fanned_out': true,
  'workflow.completed': true,
  'project.imported': true,
  'project.removed': true,
  'task.imported': true,
  'task.rate_limited': true,
  'budget.set': true,
  'budget.warning': true,
  'budget.exceeded': true,
};

/** Every event type, in the order the log's documentation lists them. */
export const EVENT_TYPES: readonly EventType[] = Object.freeze(Object.keys(EVENT_TYPE_SET) as EventType[]);

/** An event as a decider produces it, before the store gives it an id. */
export interface NewEvent {
  /** What happened. */
  type: EventType;
  /** The task it concerns, or null (a project or message event). */
  task_id: string | null;
  /** The agent that caused it, or null (an operator, a tick). */
  agent_id: string | null;
  /** The details of this type of event (the README's event list). */
  payload: JsonObject;
}

/** An event of a project's log, as stored and as subscribers receive it. */
export interface LoomEvent extends NewEvent {
  /** Its position in the log: increasing, per database. */
  id: number;
  /** The project whose log holds it. */
  project_id: string;
  /** When it was written (ISO 8601, UTC). */
  at: string;
}
