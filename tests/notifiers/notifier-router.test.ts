import { describe, expect, it } from 'vitest';
import { InProcessEventBus } from '../../src/adapters/memory/in-process-event-bus.js';
import { eventMatches, NotifierRouter } from '../../src/adapters/notifiers/notifier-router.js';
import type { LoomEvent } from '../../src/domain/events.js';
import type { Notifier, NotifierRoute } from '../../src/ports/notifier.js';
import { event } from './support.js';

class Recorder implements Notifier {
  readonly received: LoomEvent[] = [];
  constructor(readonly name: string) {}
  async notify(e: LoomEvent): Promise<void> {
    this.received.push(e);
  }
  get types(): string[] {
    return this.received.map((e) => e.type);
  }
}

/** The in-process bus delivers on a later tick. */
const delivered = (): Promise<void> => new Promise((r) => setImmediate(() => setImmediate(r)));

function setup(notifiers: Notifier[], routes: NotifierRoute[]) {
  const bus = new InProcessEventBus();
  const logs: string[] = [];
  const router = new NotifierRouter({ bus, projectId: 'proj', notifiers, routes, log: (l) => logs.push(l) });
  router.start();
  return { bus, router, logs };
}

const sample = [event(1, 'task.done'), event(2, 'escalation.raised'), event(3, 'message.sent'), event(4, 'epic.completed'), event(5, 'task.claimed')];

describe('eventMatches', () => {
  it.each([
    ['*', 'task.done', true],
    ['*', 'escalation.raised', true],
    ['task.*', 'task.done', true],
    ['task.*', 'task.dead_lettered', true],
    ['task.*', 'escalation.raised', false],
    ['task.*', 'task', false],
    ['escalation.*', 'escalation.resolved', true],
    ['task.done', 'task.done', true],
    ['task.done', 'task.done_x', false],
    ['task.done', 'task.dead_lettered', false],
    ['task', 'task.done', false],
  ])('%s matches %s: %s', (pattern, type, expected) => {
    expect(eventMatches(pattern, type)).toBe(expected);
  });
});

describe('NotifierRouter', () => {
  it('hands each event to the notifiers whose routes match it, and nothing to unrouted notifiers', async () => {
    const tasks = new Recorder('tasks');
    const all = new Recorder('all');
    const exact = new Recorder('exact');
    const unrouted = new Recorder('unrouted');
    const { bus, router, logs } = setup(
      [tasks, all, exact, unrouted],
      [
        { notifier: 'tasks', events: ['task.*'] },
        { notifier: 'all', events: ['*'] },
        { notifier: 'exact', events: ['escalation.raised'] },
        { notifier: 'exact', events: ['message.sent', 'task.claimed'] },
      ],
    );
    bus.publish(sample);
    await delivered();

    expect(tasks.types).toEqual(['task.done', 'task.claimed']);
    expect(all.types).toEqual(['task.done', 'escalation.raised', 'message.sent', 'epic.completed', 'task.claimed']);
    expect(exact.types).toEqual(['escalation.raised', 'message.sent', 'task.claimed']);
    expect(unrouted.received).toEqual([]);
    expect(logs).toEqual([]);
    expect(router.targetsOf('task.done').map((n) => n.name)).toEqual(['tasks', 'all']);
    expect(router.targetsOf('escalation.raised').map((n) => n.name)).toEqual(['all', 'exact']);
  });

  it('only routes events of its own project', async () => {
    const all = new Recorder('all');
    const { bus } = setup([all], [{ notifier: 'all', events: ['*'] }]);
    bus.publish([event(1, 'task.done', { project_id: 'other' }), event(2, 'task.done')]);
    await delivered();
    expect(all.received.map((e) => e.id)).toEqual([2]);
  });

  it('logs a notifier that throws or rejects and keeps feeding the others and the bus', async () => {
    const throwing: Notifier = {
      name: 'throws',
      notify: () => {
        throw new Error('sync boom');
      },
    };
    const rejecting: Notifier = { name: 'rejects', notify: async () => Promise.reject(new Error('async boom')) };
    const ok = new Recorder('ok');
    const { bus, logs } = setup([throwing, rejecting, ok], [
      { notifier: 'throws', events: ['*'] },
      { notifier: 'rejects', events: ['*'] },
      { notifier: 'ok', events: ['*'] },
    ]);
    const direct: LoomEvent[] = [];
    bus.subscribe('proj', (e) => direct.push(e));

    bus.publish([event(1), event(2)]);
    await delivered();

    expect(ok.received.map((e) => e.id)).toEqual([1, 2]);
    expect(direct.map((e) => e.id)).toEqual([1, 2]);
    expect(logs.filter((l) => l.startsWith('notifier throws: failed on event'))).toHaveLength(2);
    expect(logs.filter((l) => l.startsWith('notifier rejects: failed on event'))).toHaveLength(2);
    expect(logs.join('\n')).toMatch(/sync boom/);
    expect(logs.join('\n')).toMatch(/async boom/);
  });

  it('absorbs a burst bigger than any limit for a notifier that keeps up', async () => {
    const all = new Recorder('all');
    const bus = new InProcessEventBus();
    const router = new NotifierRouter({ bus, projectId: 'proj', notifiers: [all], routes: [{ notifier: 'all', events: ['*'] }], log: () => {}, concurrencyPerNotifier: 2, maxQueuedPerNotifier: 100 });
    router.start();
    bus.publish(Array.from({ length: 100 }, (_, i) => event(i + 1)));
    await new Promise((r) => setTimeout(r, 20));
    expect(all.received.map((e) => e.id)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
  });

  it('does not wait for a hung notifier, and drops its oldest waiting events once its queue is full', async () => {
    const hung: Notifier = { name: 'hung', notify: () => new Promise<void>(() => {}) };
    const ok = new Recorder('ok');
    const bus = new InProcessEventBus();
    const logs: string[] = [];
    const router = new NotifierRouter({
      bus,
      projectId: 'proj',
      notifiers: [hung, ok],
      routes: [{ notifier: 'hung', events: ['*'] }, { notifier: 'ok', events: ['*'] }],
      log: (l) => logs.push(l),
      concurrencyPerNotifier: 2,
      maxQueuedPerNotifier: 4,
    });
    router.start();
    bus.publish([event(1), event(2), event(3), event(4), event(5), event(6)]);
    await delivered();
    expect(logs).toEqual([]); // hung: 1 and 2 running, 3-6 waiting
    bus.publish([event(7), event(8), event(9)]);
    await delivered();
    expect(ok.received.map((e) => e.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(logs).toEqual([expect.stringMatching(/notifier hung: more than 4 events waiting, dropping the oldest/)]);
  });

  it('stop() unsubscribes from the bus', async () => {
    const all = new Recorder('all');
    const { bus, router } = setup([all], [{ notifier: 'all', events: ['*'] }]);
    bus.publish([event(1)]);
    await delivered();
    router.stop();
    bus.publish([event(2)]);
    await delivered();
    expect(all.received.map((e) => e.id)).toEqual([1]);
  });

  it('close() stops and closes every notifier, logging one that fails to close', async () => {
    let closed = 0;
    const a: Notifier = { name: 'a', notify: async () => {}, close: async () => void closed++ };
    const b: Notifier = { name: 'b', notify: async () => {}, close: async () => Promise.reject(new Error('stuck')) };
    const { router, logs } = setup([a, b], []);
    await router.close();
    expect(closed).toBe(1);
    expect(logs).toEqual(['notifier b: close failed: stuck']);
  });

  it('logs a route that names no configured notifier', () => {
    const { logs } = setup([new Recorder('a')], [{ notifier: 'ghost', events: ['*'] }]);
    expect(logs).toEqual([expect.stringMatching(/"ghost", which is not a configured notifier/)]);
  });
});
