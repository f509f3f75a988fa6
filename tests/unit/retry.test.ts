import { describe, expect, it } from 'vitest';
import { backoffDelayMs, decideFailure, DEFAULT_RETRY_POLICY, type RetryPolicy } from '../../src/domain/retry.js';

const POLICY: RetryPolicy = { base_ms: 1_000, factor: 2, max_ms: 60_000 };
const LOW = (): number => 0;
const HIGH = (): number => 0.999_999_999;
const MID = (): number => 0.5;

/** A small seeded PRNG (mulberry32), so the property checks below are reproducible. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('backoffDelayMs', () => {
  // Full delay d for attempt n is base * factor^(n-1), capped at max; jitter keeps it in [d/2, d].
  it.each([
    [1, 1_000],
    [2, 2_000],
    [3, 4_000],
    [4, 8_000],
    [5, 16_000],
    [6, 32_000],
    [7, 60_000], // 64 s capped
    [20, 60_000],
    [1_000, 60_000], // factor ** 999 is Infinity: still capped, still a number
  ])('attempt %i: full delay %i ms, jittered within [d/2, d]', (attempt, d) => {
    expect(backoffDelayMs(attempt, POLICY, LOW)).toBe(d / 2);
    expect(backoffDelayMs(attempt, POLICY, MID)).toBe((3 * d) / 4);
    expect(backoffDelayMs(attempt, POLICY, HIGH)).toBe(d);
  });

  it('grows exponentially until the cap', () => {
    const delays = [1, 2, 3, 4, 5, 6].map((a) => backoffDelayMs(a, POLICY, LOW));
    for (let i = 1; i < delays.length; i++) expect(delays[i]).toBe(delays[i - 1]! * POLICY.factor);
  });

  it('never exceeds the cap, whatever the attempt', () => {
    for (let a = 1; a <= 64; a++) expect(backoffDelayMs(a, POLICY, HIGH)).toBeLessThanOrEqual(POLICY.max_ms);
  });

  it.each([0, -3])('treats attempt %i like the first', (attempt) => {
    expect(backoffDelayMs(attempt, POLICY, LOW)).toBe(500);
  });

  it.each([
    [-1, 'below 0', 500],
    [1, 'exactly 1', 1_000],
    [7, 'far above 1', 1_000],
  ])('clamps a random of %d (%s) into range', (r, _label, expected) => {
    expect(backoffDelayMs(1, POLICY, () => r)).toBe(expected);
  });

  it.each([1, 2, 3, 5, 8, 13])('stays within [d/2, d] for 2,000 random draws at attempt %i', (attempt) => {
    const d = Math.min(POLICY.max_ms, POLICY.base_ms * POLICY.factor ** (attempt - 1));
    const random = seeded(attempt);
    const seen = new Set<number>();
    for (let i = 0; i < 2_000; i++) {
      const delay = backoffDelayMs(attempt, POLICY, random);
      expect(delay).toBeGreaterThanOrEqual(d / 2);
      expect(delay).toBeLessThanOrEqual(d);
      expect(Number.isInteger(delay)).toBe(true);
      seen.add(delay);
    }
    // Jitter actually spreads retries out.
    expect(seen.size).toBeGreaterThan(100);
  });

  it('is deterministic with an injected random', () => {
    const run = (seed: number): number[] => {
      const random = seeded(seed);
      return [1, 2, 3, 4, 5].map((n) => backoffDelayMs(n, POLICY, random));
    };
    expect(run(42)).toEqual(run(42));
    expect(run(42)).not.toEqual(run(43));
  });

  it('calls random once per delay', () => {
    let calls = 0;
    backoffDelayMs(3, POLICY, () => {
      calls++;
      return 0.3;
    });
    expect(calls).toBe(1);
  });

  it('has a sensible default policy: first retry within 5 s, never more than 10 min', () => {
    expect(backoffDelayMs(1, DEFAULT_RETRY_POLICY, HIGH)).toBe(5_000);
    expect(backoffDelayMs(100, DEFAULT_RETRY_POLICY, HIGH)).toBe(600_000);
  });
});

describe('decideFailure', () => {
  const NOW = new Date('2025-01-01T12:00:00.000Z');

  it.each<[string, number, number, boolean, ReturnType<typeof decideFailure>]>([
    ['a permanent failure never retries', 1, 3, false, { outcome: 'dead_lettered', why: 'not_retryable' }],
    ['a permanent failure with attempts left still dead-letters', 0, 10, false, { outcome: 'dead_lettered', why: 'not_retryable' }],
    ['the last attempt failed', 3, 3, true, { outcome: 'dead_lettered', why: 'attempts_exhausted' }],
    ['more attempts than allowed', 5, 3, true, { outcome: 'dead_lettered', why: 'attempts_exhausted' }],
    ['a single-shot task', 1, 1, true, { outcome: 'dead_lettered', why: 'attempts_exhausted' }],
    ['first of three failed', 1, 3, true, { outcome: 'retrying', delay_ms: 1_000, run_after: '2025-01-01T12:00:01.000Z' }],
    ['second of three failed', 2, 3, true, { outcome: 'retrying', delay_ms: 2_000, run_after: '2025-01-01T12:00:02.000Z' }],
    ['ninth of ten failed (capped)', 9, 10, true, { outcome: 'retrying', delay_ms: 60_000, run_after: '2025-01-01T12:01:00.000Z' }],
  ])('%s', (_label, attempts, max, retryable, expected) => {
    expect(decideFailure(attempts, max, retryable, NOW, POLICY, HIGH)).toEqual(expected);
  });

  it('retries at now + the jittered delay', () => {
    const d = decideFailure(2, 5, true, NOW, POLICY, seeded(7));
    if (d.outcome !== 'retrying') throw new Error(`expected a retry, got ${d.outcome}`);
    expect(d.delay_ms).toBeGreaterThanOrEqual(1_000);
    expect(d.delay_ms).toBeLessThanOrEqual(2_000);
    expect(Date.parse(d.run_after)).toBe(NOW.getTime() + d.delay_ms);
  });
});
