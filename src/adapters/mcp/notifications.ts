import type { LoomEvent } from '../../domain/events.js';

export const TASK_EVENT_METHOD = 'notifications/loom/task_event';

export interface TaskEventNotification {
  method: typeof TASK_EVENT_METHOD;
  params: { event_id: number; type: string; task_id: string | null; agent_id: string | null; payload: Record<string, unknown>; at: string };
}

export const toNotification = (e: LoomEvent): TaskEventNotification => ({
  method: TASK_EVENT_METHOD,
  params: { event_id: e.id, type: e.type, task_id: e.task_id, agent_id: e.agent_id, payload: e.payload, at: e.at },
});

export interface ForwarderOptions {
  send: (n: TaskEventNotification) => Promise<void>;
  log: (line: string) => void;
  /** Told once per overflow, after the queue drained, how many events were dropped. */
  onDropped?: (count: number) => void;
  maxQueued?: number;
}

/**
 * Forwards events to one client without ever blocking the event source: the
 * subscriber only queues; a pump sends one notification at a time. A client
 * that cannot keep up loses the oldest events (it can re-read state with
 * loom_status), never the bus its peers share.
 */
export class EventForwarder {
  private readonly queue: LoomEvent[] = [];
  private readonly max: number;
  private pumping = false;
  private closed = false;
  private dropped = 0;

  constructor(private readonly o: ForwarderOptions) {
    this.max = o.maxQueued ?? 1000;
  }

  /** The event-source handler: synchronous, never throws, never waits. */
  readonly push = (event: LoomEvent): void => {
    if (this.closed) return;
    if (this.queue.length >= this.max) {
      this.queue.shift();
      if (this.dropped++ === 0) this.o.log(`loom mcp: client is slow, dropping the oldest task events (more than ${this.max} queued)`);
    }
    this.queue.push(event);
    if (!this.pumping) {
      this.pumping = true;
      // Start after the publisher's loop returns: sending may do work synchronously.
      queueMicrotask(() => void this.pump());
    }
  };

  get queued(): number {
    return this.queue.length;
  }

  close(): void {
    this.closed = true;
    this.queue.length = 0;
  }

  private async pump(): Promise<void> {
    try {
      for (let event = this.queue.shift(); event !== undefined && !this.closed; event = this.queue.shift()) {
        try {
          await this.o.send(toNotification(event));
        } catch (error) {
          this.o.log(`loom mcp: could not send ${event.type} event ${event.id}: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    } finally {
      this.pumping = false;
      if (this.dropped > 0) {
        const count = this.dropped;
        this.dropped = 0;
        this.o.log(`loom mcp: dropped ${count} task event(s) for a slow client`);
        try {
          this.o.onDropped?.(count);
        } catch {
          // a report about dropping must not fail the pump
        }
      }
      // An event pushed while the last send was settling.
      if (this.queue.length > 0 && !this.closed) {
        this.pumping = true;
        queueMicrotask(() => void this.pump());
      }
    }
  }
}
