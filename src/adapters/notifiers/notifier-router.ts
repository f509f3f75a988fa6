import type { LoomEvent } from '../../domain/events.js';
import type { EventBus } from '../../ports/event-bus.js';
import type { Notifier, NotifierRoute } from '../../ports/notifier.js';

export interface NotifierRouterOptions {
  bus: Pick<EventBus, 'subscribe'>;
  projectId: string;
  notifiers: readonly Notifier[];
  routes: readonly NotifierRoute[];
  log: (line: string) => void;
  /** Calls of one notifier running at once (default 8); further events wait in its queue. */
  concurrencyPerNotifier?: number;
  /** Events waiting for one notifier (default 10,000); beyond this its oldest are dropped. */
  maxQueuedPerNotifier?: number;
}

/** Does an event type match a route entry: exact (`task.done`), prefix glob (`task.*`) or `*`? */
export function eventMatches(pattern: string, type: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('.*')) return type.startsWith(pattern.slice(0, -1));
  return pattern === type;
}

interface Target {
  notifier: Notifier;
  patterns: string[];
  queue: LoomEvent[];
  active: number;
  overflowing: boolean;
}

/**
 * Feeds one project's events from the bus to the notifiers their routes
 * select. The bus handler only hands events over: it never waits for a
 * notifier, and a notifier that throws, rejects or hangs is logged and
 * affects neither the other notifiers nor the bus. Each notifier has its own
 * bounded queue and concurrency, so a burst (a tick releasing a thousand
 * tasks) is absorbed and a hung notifier costs bounded memory.
 */
export class NotifierRouter {
  private readonly targets: Target[];
  private readonly byType = new Map<string, Target[]>();
  private readonly concurrency: number;
  private readonly maxQueued: number;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly o: NotifierRouterOptions) {
    this.concurrency = Math.max(1, o.concurrencyPerNotifier ?? 8);
    this.maxQueued = Math.max(1, o.maxQueuedPerNotifier ?? 10_000);
    const known = new Set(o.notifiers.map((n) => n.name));
    for (const r of o.routes) {
      if (!known.has(r.notifier)) o.log(`notifiers: a route names ${JSON.stringify(r.notifier)}, which is not a configured notifier; ignored`);
    }
    this.targets = o.notifiers.map((notifier) => ({
      notifier,
      patterns: o.routes.filter((r) => r.notifier === notifier.name).flatMap((r) => r.events),
      queue: [],
      active: 0,
      overflowing: false,
    }));
  }

  start(): void {
    if (this.unsubscribe !== undefined) return;
    this.unsubscribe = this.o.bus.subscribe(this.o.projectId, this.route);
  }

  /** Unsubscribes; events already handed to a notifier are left to it. */
  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  /** Stops, then closes every notifier (each bounded by its own close). */
  async close(): Promise<void> {
    this.stop();
    await Promise.all(
      this.o.notifiers.map(async (n) => {
        try {
          await n.close?.();
        } catch (e) {
          this.o.log(`notifier ${n.name}: close failed: ${describe(e)}`);
        }
      }),
    );
  }

  /** The notifiers that receive events of this type. */
  targetsOf(type: string): readonly Notifier[] {
    return this.matching(type).map((t) => t.notifier);
  }

  private readonly route = (event: LoomEvent): void => {
    for (const target of this.matching(event.type)) this.hand(target, event);
  };

  private matching(type: string): Target[] {
    let found = this.byType.get(type);
    if (found === undefined) {
      found = this.targets.filter((t) => t.patterns.some((p) => eventMatches(p, type)));
      this.byType.set(type, found);
    }
    return found;
  }

  private hand(target: Target, event: LoomEvent): void {
    if (target.queue.length >= this.maxQueued) {
      target.queue.shift();
      if (!target.overflowing) {
        target.overflowing = true;
        this.o.log(`notifier ${target.notifier.name}: more than ${this.maxQueued} events waiting, dropping the oldest until it catches up`);
      }
    }
    target.queue.push(event);
    this.pump(target);
  }

  private pump(target: Target): void {
    while (target.active < this.concurrency && target.queue.length > 0) {
      const event = target.queue.shift()!;
      target.active++;
      let result: Promise<void>;
      try {
        result = Promise.resolve(target.notifier.notify(event));
      } catch (e) {
        result = Promise.reject(e);
      }
      result
        .catch((e: unknown) => this.o.log(`notifier ${target.notifier.name}: failed on event ${event.id} (${event.type}): ${describe(e)}`))
        .finally(() => {
          target.active--;
          if (target.queue.length === 0) target.overflowing = false;
          this.pump(target);
        });
    }
  }
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
