import { describe, expect, it } from 'vitest';
import type { LoomEvent } from '../../src/domain/events.js';
import type { EventBus } from '../../src/ports/event-bus.js';
import { until } from '../support/until.js';

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

/**
 * How long an absence is watched for: after a delivery that was waited for,
 * room for one that should not come (a stray event would travel with it).
 */
const ABSENCE_MS = 250;
/** A delivery normally takes milliseconds; through Redis on a loaded machine it can take far longer. */
const DELIVERY_MS = 30_000;

/** What every EventBus adapter must do; run against each of them. */
export function eventBusContract(name: string, open: () => Promise<EventBus>): void {
  const absence = () => new Promise((r) => setTimeout(r, ABSENCE_MS));
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
      await until(() => a.length >= sent.length && b.length >= sent.length, 'the deliveries', DELIVERY_MS);
      await absence();
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
      await until(() => seen.length >= 2, 'the deliveries', DELIVERY_MS);
      await absence();
      expect(seen).toEqual(['thrower', 'ok task.done']);
      await bus.close();
    });

    it('stops delivering after unsubscribe', async () => {
      const bus = await open();
      const seen: number[] = [];
      const witness: number[] = [];
      const off = bus.subscribe('p', (e) => seen.push(e.id));
      bus.subscribe('p', (e) => witness.push(e.id));
      const first = event('p');
      bus.publish([first]);
      await until(() => seen.length >= 1, 'the first delivery', DELIVERY_MS);
      off();
      const second = event('p');
      bus.publish([second]);
      // The subscriber still listening gets the second event: the other one would have by then.
      await until(() => witness.includes(second.id), 'the second delivery', DELIVERY_MS);
      await absence();
      expect(seen).toEqual([first.id]);
      expect(witness).toEqual([first.id, second.id]);
      await bus.close();
    });
  });
}
