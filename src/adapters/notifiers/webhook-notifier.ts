import { createHmac, timingSafeEqual } from 'node:crypto';
import { LoomError } from '../../domain/errors.js';
import type { LoomEvent } from '../../domain/events.js';
import { backoffDelayMs } from '../../domain/retry.js';
import type { Notifier } from '../../ports/notifier.js';

export interface WebhookBackoff {
  baseMs: number;
  factor: number;
  maxMs: number;
}

export interface WebhookNotifierOptions {
  name: string;
  /** An http(s) URL; redirects are not followed (they would carry the signed body elsewhere). */
  url: string;
  /** Key of the HMAC-SHA256 in `X-Loom-Signature`. */
  secret: string;
  /** Per attempt, from sending the request to the response headers. */
  timeoutMs?: number;
  /** Further attempts after the first fails; then the event is logged and dropped. */
  retries?: number;
  backoff?: WebhookBackoff;
  /** In [0, 1); the jitter of the backoff. */
  random?: () => number;
  log?: (line: string) => void;
  /** Deliveries in flight at once. */
  concurrency?: number;
  /** Events waiting for delivery; beyond this the oldest are dropped. */
  maxQueued?: number;
  /** How long `close()` waits for queued deliveries before giving up on them. */
  closeTimeoutMs?: number;
}

export interface WebhookStats {
  delivered: number;
  /** Dropped after every attempt failed. */
  failed: number;
  /** Dropped unsent: queue overflow, or still queued when close() gave up. */
  dropped: number;
  queued: number;
  inFlight: number;
}

export const DEFAULT_WEBHOOK_BACKOFF: WebhookBackoff = { baseMs: 500, factor: 2, maxMs: 30_000 };

export const SIGNATURE_HEADER = 'x-loom-signature';
export const EVENT_HEADER = 'x-loom-event';
export const DELIVERY_HEADER = 'x-loom-delivery';

/** Ids remembered to ignore an event handed over twice (e.g. by two relays). */
const RECENT_IDS = 10_000;

interface Delivery {
  key: string;
  event: LoomEvent;
  body: string;
}

/** `sha256=<hex>` of the exact body. */
export function signWebhookBody(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

/** For receivers: does `header` (the `X-Loom-Signature` value) sign `body` with `secret`? Timing-safe. */
export function verifyWebhookSignature(body: string, header: string, secret: string): boolean {
  const m = /^sha256=([0-9a-f]{64})$/i.exec(header.trim());
  if (m === null) return false;
  const given = Buffer.from(m[1]!.toLowerCase(), 'hex');
  const expected = createHmac('sha256', secret).update(body, 'utf8').digest();
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * POSTs each event as JSON to one URL, signed with HMAC-SHA256. `notify` only
 * queues: deliveries run in the background with bounded concurrency, retry
 * with exponential backoff and jitter, and are logged and dropped when every
 * attempt failed; nothing here ever throws into the core path. A delivery
 * keeps its slot while it backs off, so a failing endpoint slows its own
 * queue (which then drops its oldest) instead of multiplying requests.
 * Delivery is at-least-once (a timed-out attempt may have arrived):
 * receivers deduplicate by `X-Loom-Delivery`.
 */
export class WebhookNotifier implements Notifier {
  readonly name: string;
  private readonly url: string;
  private readonly secret: string;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoff: WebhookBackoff;
  private readonly random: () => number;
  private readonly log: (line: string) => void;
  private readonly concurrency: number;
  private readonly maxQueued: number;
  private readonly closeTimeoutMs: number;

  private readonly queue: Delivery[] = [];
  private readonly recent = new Set<string>();
  private readonly shutdown = new AbortController();
  private readonly idleWaiters: Array<() => void> = [];
  private inFlight = 0;
  private overflowing = false;
  private closed = false;
  private closing: Promise<void> | undefined;
  private readonly counts = { delivered: 0, failed: 0, dropped: 0 };

  constructor(options: WebhookNotifierOptions) {
    this.name = options.name;
    this.url = checkUrl(options.name, options.url);
    if (options.secret === '') {
      throw new LoomError('CONFIG_INVALID', `webhook notifier ${options.name} has an empty secret`, {
        hint: 'set a secret (or `env:VAR_NAME` to read it from the environment)',
        details: { notifier: options.name },
      });
    }
    this.secret = options.secret;
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.retries = Math.max(0, Math.floor(options.retries ?? 5));
    this.backoff = options.backoff ?? DEFAULT_WEBHOOK_BACKOFF;
    this.random = options.random ?? Math.random;
    this.log = options.log ?? ((line) => process.stderr.write(`${line}\n`));
    this.concurrency = Math.max(1, Math.floor(options.concurrency ?? 4));
    this.maxQueued = Math.max(1, Math.floor(options.maxQueued ?? 10_000));
    this.closeTimeoutMs = options.closeTimeoutMs ?? 5_000;
  }

  /** Queues the event and returns at once; never rejects. */
  async notify(event: LoomEvent): Promise<void> {
    if (this.closed) return;
    const key = `${event.project_id}:${event.id}`;
    if (this.recent.has(key)) return;
    this.remember(key);
    let body: string;
    try {
      body = JSON.stringify(event);
    } catch (e) {
      this.log(`webhook ${this.name}: cannot serialise event ${event.id} (${event.type}): ${(e as Error).message}`);
      return;
    }
    if (this.queue.length >= this.maxQueued) {
      this.queue.shift();
      this.counts.dropped++;
      if (!this.overflowing) {
        this.overflowing = true;
        this.log(`webhook ${this.name}: more than ${this.maxQueued} events waiting, dropping the oldest`);
      }
    }
    this.queue.push({ key, event, body });
    // Start deliveries after the caller's loop returns, never inside it.
    queueMicrotask(() => this.pump());
  }

  get stats(): WebhookStats {
    return { ...this.counts, queued: this.queue.length, inFlight: this.inFlight };
  }

  /** Stops taking events and waits (at most closeTimeoutMs) for queued ones; then gives up on the rest. */
  close(): Promise<void> {
    this.closing ??= this.drain();
    return this.closing;
  }

  private async drain(): Promise<void> {
    this.closed = true;
    this.pump();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.closeTimeoutMs);
    });
    const outcome = await Promise.race([this.idle(), deadline]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      const left = this.queue.length + this.inFlight;
      this.counts.dropped += this.queue.length;
      this.queue.length = 0;
      this.shutdown.abort();
      await this.idle();
      this.log(`webhook ${this.name}: closed with ${left} event(s) undelivered after waiting ${this.closeTimeoutMs}ms`);
    }
  }

  private idle(): Promise<void> {
    if (this.queue.length === 0 && this.inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (this.inFlight < this.concurrency && this.queue.length > 0 && !this.shutdown.signal.aborted) {
      const d = this.queue.shift()!;
      this.inFlight++;
      void this.deliver(d).finally(() => {
        this.inFlight--;
        this.pump();
        if (this.queue.length === 0) this.overflowing = false;
        if (this.queue.length === 0 && this.inFlight === 0) {
          for (const wake of this.idleWaiters.splice(0)) wake();
        }
      });
    }
  }

  /** Every attempt of one event, in order: a retry starts only after the previous attempt ended. */
  private async deliver(d: Delivery): Promise<void> {
    const signature = signWebhookBody(d.body, this.secret);
    let lastError = '';
    const attempts = this.retries + 1;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (this.shutdown.signal.aborted) {
        this.counts.dropped++;
        return;
      }
      try {
        const status = await this.post(d, signature, attempt);
        if (status >= 200 && status < 300) {
          this.counts.delivered++;
          return;
        }
        lastError = `HTTP ${status}`;
      } catch (e) {
        if (this.shutdown.signal.aborted) {
          this.counts.dropped++;
          return;
        }
        lastError = describeFetchError(e, this.timeoutMs);
      }
      if (attempt < attempts) {
        await sleep(backoffDelayMs(attempt, { base_ms: this.backoff.baseMs, factor: this.backoff.factor, max_ms: this.backoff.maxMs }, this.random), this.shutdown.signal);
      }
    }
    this.counts.failed++;
    this.log(`webhook ${this.name}: dropped event ${d.event.id} (${d.event.type}) after ${attempts} attempt(s); last error: ${lastError}`);
  }

  private async post(d: Delivery, signature: string, attempt: number): Promise<number> {
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(new WebhookTimeout()), this.timeoutMs);
    const onShutdown = (): void => ctrl.abort(this.shutdown.signal.reason);
    this.shutdown.signal.addEventListener('abort', onShutdown, { once: true });
    try {
      const res = await fetch(this.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'loom-agents-webhook',
          'x-loom-signature': signature,
          'x-loom-event': d.event.type,
          'x-loom-delivery': String(d.event.id),
          'x-loom-attempt': String(attempt),
        },
        body: d.body,
        redirect: 'manual',
        signal: ctrl.signal,
      });
      // Release the connection; the answer's body is of no interest.
      await res.body?.cancel().catch(() => {});
      return res.status;
    } finally {
      clearTimeout(timer);
      this.shutdown.signal.removeEventListener('abort', onShutdown);
    }
  }

  private remember(key: string): void {
    this.recent.add(key);
    if (this.recent.size > RECENT_IDS) {
      const oldest = this.recent.values().next().value;
      if (oldest !== undefined) this.recent.delete(oldest);
    }
  }
}

class WebhookTimeout extends Error {
  constructor() {
    super('timed out');
    this.name = 'WebhookTimeout';
  }
}

function describeFetchError(e: unknown, timeoutMs: number): string {
  if (e instanceof WebhookTimeout) return `no answer within ${timeoutMs}ms`;
  if (e instanceof Error) {
    const cause = (e as Error & { cause?: unknown }).cause;
    if (cause instanceof WebhookTimeout) return `no answer within ${timeoutMs}ms`;
    const code = typeof cause === 'object' && cause !== null ? (cause as { code?: unknown }).code : undefined;
    return typeof code === 'string' ? `${e.message} (${code})` : e.message;
  }
  return String(e);
}

function checkUrl(name: string, url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new LoomError('CONFIG_INVALID', `webhook notifier ${name}: ${JSON.stringify(url)} is not a URL`, {
      hint: 'give an absolute http(s) URL, e.g. https://hooks.example.com/loom',
      details: { notifier: name },
    });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new LoomError('CONFIG_INVALID', `webhook notifier ${name}: only http and https URLs are supported`, {
      hint: 'give an absolute http(s) URL, e.g. https://hooks.example.com/loom',
      details: { notifier: name },
    });
  }
  return parsed.href;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
