import { describe, expect, it } from 'vitest';
import type { LoomEvent } from '../../src/domain/events.js';
import type { EventBus } from '../../src/ports/event-bus.js';

let nextId = 1;
const event = (projectId: string, type: LoomEvent['type'] = 'task.created'): LoomEvent => ({
  id: nextId++,
  project_id: projectId,
  type,
  task_id: 'loom-0000000a',
  agent_id: null,
  payload: {},
  at: new Date().toISOString(),
});

export interface EventBusContractOptions {
  /**
   * How long to wait for deliveries (and for the absence of one) after a
   * publish: 50 ms by default; a bus that delivers through a server (Redis)
   * needs room for the round trip on a loaded machine.
   */
  settleMs?: number;
}

/** What every EventBus adapter must do; run against each of them. */
export function eventBusContract(name: string, open: () => Promise<EventBus>, options: EventBusContractOptions = {}): void {
  const settle = () => new Promise((r) => setTimeout(r, options.settleMs ?? 50));
  describe(`EventBus contract: ${name}`, () => {
    it('delivers a project\'s events, in order, to each of its subscribers and to no one else', async () => {
      const bus = await open();
      const a: number[] = [];
      const b: number[] = [];
      const other: number[] = [];
      bus.subscribe('p1', (e) => a.push(e.id));
      bus.subscribe('p1', (e) => b.push(e.id));
      bus.subscribe('p2', (e) => other.push(e.id));
      const sent = [event('p1'), event('p1'), event('p1')];
      bus.publish(sent);
      await settle();
      expect(a).toEqual(sent.map((e) => e.id));
      expect(b).toEqual(sent.map((e) => e.id));
      expect(other).toEqual([]);
      await bus.close();
    });

    it('never runs a subscriber inside publish, and isolates a throwing one', async () => {
      const bus = await open();
      const seen: string[] = [];
      bus.subscribe('p', () => {
        seen.push('thrower');
        throw new Error('subscriber bug');
      });
      bus.subscribe('p', (e) => seen.push(`ok ${e.type}`));
      bus.publish([event('p', 'task.done')]);
      expect(seen).toEqual([]); // publish returned before any delivery
      await settle();
      expect(seen).toEqual(['thrower', 'ok task.done']);
      await bus.close();
    });

    it('stops delivering after unsubscribe', async () => {
      const bus = await open();
      const seen: number[] = [];
      const off = bus.subscribe('p', (e) => seen.push(e.id));
      const first = event('p');
      bus.publish([first]);
      await settle();
      off();
      bus.publish([event('p')]);
      await settle();
      expect(seen).toEqual([first.id]);
      await bus.close();
    });
  });
}
