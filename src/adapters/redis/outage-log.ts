export interface OutageText {
  /** What fails, e.g. `redis event bus: cannot publish to redis://host:6379/`. */
  failing: string;
  /** What that means while it lasts, e.g. `events are dropped`. */
  meanwhile: string;
  /** Said when it is over, e.g. `redis event bus: publishing to redis://host:6379/ works again`. */
  recovered: string;
}

/**
 * Logs a connection's trouble once per outage rather than once per event or
 * per reconnect attempt, and says when it is over and what was lost meanwhile.
 */
export class OutageLog {
  private down = false;
  private lost = 0;

  constructor(
    private readonly text: OutageText,
    private readonly log: (line: string) => void,
  ) {}

  get isDown(): boolean {
    return this.down;
  }

  fail(error: unknown, lostEvents = 0): void {
    this.lost += lostEvents;
    if (this.down) return;
    this.down = true;
    this.log(`${this.text.failing}: ${describeError(error)}; ${this.text.meanwhile} until Redis answers again`);
  }

  /** Counts events given up on while the outage lasts. */
  drop(events: number): void {
    this.lost += events;
  }

  recover(): void {
    if (!this.down) return;
    const lost = this.lost;
    this.down = false;
    this.lost = 0;
    this.log(`${this.text.recovered}${lost > 0 ? ` (${lost} event(s) were dropped meanwhile)` : ''}`);
  }
}

function describeError(error: unknown): string {
  // Node reports a refused connection to a dual-stack host as an AggregateError with an empty message.
  if (error instanceof AggregateError && error.errors.length > 0) return describeError(error.errors[0]);
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}
