/**
 * The most recent event ids seen, oldest forgotten first: enough to drop the
 * duplicate a relay's republish or a reconnect's resend produces, in bounded
 * memory. A Set iterates in insertion order, so it doubles as the queue.
 */
export class RecentIds {
  private readonly ids = new Set<number>();

  constructor(private readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
  }

  /** Records the id; false when it was already among the recent ones. */
  add(id: number): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    if (this.ids.size > this.capacity) {
      const oldest = this.ids.values().next().value as number;
      this.ids.delete(oldest);
    }
    return true;
  }
}
