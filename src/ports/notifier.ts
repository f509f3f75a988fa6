import type { ServiceIdentifier } from 'inversify';
import type { LoomEvent } from '../domain/events.js';

/**
 * Tells someone outside Loom about an event (a terminal, a webhook, a chat
 * plugin). `notify` must return quickly: slow delivery belongs behind the
 * notifier's own queue, never on the path that published the event.
 */
export interface Notifier {
  /** Unique among the configured notifiers; routes name it. */
  readonly name: string;
  notify(event: LoomEvent): Promise<void>;
  /** Flushes what is queued (bounded in time) and releases resources. */
  close?(): Promise<void>;
}
/** A multi-binding: every notifier is bound under this token and read with `getAll`. */
export const Notifier: ServiceIdentifier<Notifier> = Symbol.for('loom.Notifier');

/**
 * Which events go to one notifier. An `events` entry is an exact type
 * (`task.done`), a prefix glob (`task.*`, `escalation.*`) or `*` for all.
 * A notifier no route names receives nothing.
 */
export interface NotifierRoute {
  notifier: string;
  events: string[];
}
