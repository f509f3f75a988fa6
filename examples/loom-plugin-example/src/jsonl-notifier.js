import { appendFile, mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/**
 * @typedef {object} JsonlOptions
 * @property {string} path Where lines go; relative paths are relative to the project directory.
 * @property {number} [max_queued] Lines waiting to be written; beyond this the oldest are dropped (default 10000).
 * @property {number} [close_timeout_ms] How long close() waits for queued lines (default 5000).
 */

/** @typedef {import('loom-agents/plugin').Notifier} Notifier */
/** @typedef {import('loom-agents/plugin').NotifierContext} NotifierContext */
/** @typedef {import('loom-agents/plugin').LoomEvent} LoomEvent */

/** The options' JSON Schema: Loom validates a config entry against it before create() runs. */
export const JSONL_OPTIONS_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['path'],
  properties: {
    path: { type: 'string', minLength: 1 },
    max_queued: { type: 'integer', minimum: 1, maximum: 1000000 },
    close_timeout_ms: { type: 'integer', minimum: 0, maximum: 120000 },
  },
};

/**
 * Appends one JSON line per event to a file. notify() only queues the line and
 * returns: a slow or full disk never holds up Loom's event path. The queue is
 * bounded (the oldest lines are dropped first, and counted), and close()
 * flushes it, waiting at most close_timeout_ms.
 *
 * @implements {Notifier}
 */
export class JsonlNotifier {
  /** @type {string[]} */
  #queue = [];
  /** @type {Promise<void> | null} */
  #draining = null;
  #closed = false;
  #failing = false;
  #dirReady = false;
  #stats = { written: 0, dropped: 0, failed: 0 };

  /**
   * @param {JsonlOptions} options
   * @param {Pick<NotifierContext, 'name' | 'projectDir' | 'log'>} ctx
   */
  constructor(options, ctx) {
    /** @readonly */
    this.name = ctx.name;
    /** @readonly */
    this.path = resolve(ctx.projectDir, options.path);
    this.maxQueued = options.max_queued ?? 10000;
    this.closeTimeoutMs = options.close_timeout_ms ?? 5000;
    this.log = ctx.log;
  }

  /** @param {LoomEvent} event */
  async notify(event) {
    if (this.#closed) return;
    this.#queue.push(`${JSON.stringify(event)}\n`);
    if (this.#queue.length > this.maxQueued) {
      const over = this.#queue.length - this.maxQueued;
      this.#queue.splice(0, over);
      if (this.#stats.dropped === 0) this.log(`${this.name}: more than ${this.maxQueued} lines waiting for ${this.path}; dropping the oldest`);
      this.#stats.dropped += over;
    }
    this.#kick();
  }

  #kick() {
    if (this.#draining !== null) return;
    this.#draining = this.#drain().finally(() => {
      this.#draining = null;
      // A line queued after the loop's last look, before this ran.
      if (this.#queue.length > 0) this.#kick();
    });
  }

  /** Writes what is queued, waiting at most close_timeout_ms; later events are ignored. */
  async close() {
    this.#closed = true;
    const deadline = Date.now() + this.closeTimeoutMs;
    while (this.#draining !== null && Date.now() < deadline) {
      /** @type {NodeJS.Timeout | undefined} */
      let timer;
      const timeout = new Promise((done) => {
        timer = setTimeout(done, deadline - Date.now());
      });
      await Promise.race([this.#draining, timeout]);
      clearTimeout(timer);
    }
    if (this.#queue.length > 0) {
      this.log(`${this.name}: closed with ${this.#queue.length} lines unwritten to ${this.path}`);
      this.#stats.dropped += this.#queue.length;
      this.#queue = [];
    }
  }

  /** Counts since the start: lines written, dropped unwritten, lost to write errors, and waiting. */
  stats() {
    return { ...this.#stats, queued: this.#queue.length };
  }

  async #drain() {
    // Let the caller's synchronous burst of events join one write.
    await Promise.resolve();
    while (this.#queue.length > 0) {
      const batch = this.#queue;
      this.#queue = [];
      try {
        if (!this.#dirReady) {
          await mkdir(dirname(this.path), { recursive: true });
          this.#dirReady = true;
        }
        await appendFile(this.path, batch.join(''), { encoding: 'utf8', mode: 0o600 });
        this.#stats.written += batch.length;
        if (this.#failing) this.log(`${this.name}: writing to ${this.path} again`);
        this.#failing = false;
      } catch (e) {
        this.#stats.failed += batch.length;
        // Once per outage, not once per event.
        if (!this.#failing) this.log(`${this.name}: cannot write ${this.path}: ${e instanceof Error ? e.message : String(e)}; dropping events until it works`);
        this.#failing = true;
      }
    }
  }
}
