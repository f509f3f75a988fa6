import type { ServiceIdentifier } from 'inversify';
import type { LoomEvent } from '../domain/events.js';

export type EventHandler = (event: LoomEvent) => void;

/**
 * Live fan-out of committed events. Publishing never blocks the caller and a
 * failing or slow subscriber never affects the others.
 */
export interface EventBus {
  publish(events: readonly LoomEvent[]): void;
  /** Events of one project; returns the unsubscribe function. */
  subscribe(projectId: string, handler: EventHandler): () => void;
  close(): Promise<void>;
}
export const EventBus: ServiceIdentifier<EventBus> = Symbol.for('loom.EventBus');
