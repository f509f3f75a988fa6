import type { LoomEvent } from '../../domain/events.js';
import type { EventBus, EventHandler } from '../../ports/event-bus.js';

/**
 * Fan-out inside one process. Delivery happens on a later tick, so publishing
 * never waits for a subscriber, and a throwing subscriber is isolated.
 */
export class InProcessEventBus implements EventBus {
  private readonly handlers = new Map<string, Set<EventHandler>>();

  constructor(private readonly onHandlerError: (e: unknown) => void = () => {}) {}

  publish(events: readonly LoomEvent[]): void {
    if (events.length === 0) return;
    const batch = [...events];
    setImmediate(() => {
      for (const event of batch) {
        for (const handler of this.handlers.get(event.project_id) ?? []) {
          try {
            handler(event);
          } catch (e) {
            this.onHandlerError(e);
          }
        }
      }
    });
  }

  subscribe(projectId: string, handler: EventHandler): () => void {
    const set = this.handlers.get(projectId) ?? new Set();
    set.add(handler);
    this.handlers.set(projectId, set);
    return () => {
      set.delete(handler);
      if (set.size === 0) this.handlers.delete(projectId);
    };
  }

  async close(): Promise<void> {
    this.handlers.clear();
  }
}
