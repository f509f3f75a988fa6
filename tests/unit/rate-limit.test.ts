import { describe, expect, it } from 'vitest';
import { clampResetAt, decideRateLimited, MAX_RATE_LIMIT_WAIT_MS } from '../../src/domain/rate-limit.js';
import { DEFAULT_RATE_LIMIT_RULE, detectRateLimit, nextWallTime, resetFromText } from '../../src/app/orchestrator/rate-limit.js';
import { parseRateLimitOptions } from '../../src/adapters/cli/commands/orchestrate.command.js';
import { parseResetAt } from '../../src/adapters/cli/commands/fail.command.js';
import { codeOf } from '../support/error-code.js';
import { taskFixture } from '../support/task-fixture.js';

const now = new Date('2026-11-30T10:00:00.000Z');
const HOUR = 3_600_000;

describe('clampResetAt', () => {
  it.each([
    ['an hour ahead stays', now.getTime() + HOUR, now.getTime() + HOUR, null],
    ['in the past becomes now', now.getTime() - 1, now.getTime(), 'past'],
    ['exactly a day ahead stays', now.getTime() + MAX_RATE_LIMIT_WAIT_MS, now.getTime() + MAX_RATE_LIMIT_WAIT_MS, null],
    ['a week ahead becomes a day', now.getTime() + 7 * 24 * HOUR, now.getTime() + MAX_RATE_LIMIT_WAIT_MS, 'too_far'],
  ])('%s', (_, requested, want, clamped) => {
    expect(clampResetAt(new Date(requested), now)).toEqual({ reset_at: new Date(want), clamped });
  });
});

describe('decideRateLimited', () => {
  const claimed = taskFixture({ status: 'claimed', attempts: 2, max_attempts: 2, assignee: 'a', lease_token: 'tok', lease_expires_at: new Date(now.getTime() + 60_000).toISOString() });

  it('gives the attempt back and waits until the reset, even on the last attempt', () => {
    const d = decideRateLimited(claimed, { token: 'tok', agentId: 'a', reason: 'limit', reset_at: new Date(now.getTime() + HOUR) }, now);
    expect(d.task).toMatchObject({ status: 'pending', attempts: 1, run_after: new Date(now.getTime() + HOUR).toISOString(), lease_token: null, assignee: null, failure_reason: 'limit' });
    expect(d.events.map((e) => e.type)).toEqual(['task.rate_limited']);
    expect(d.clamped).toBeNull();
  });

  it('a task that gained a dependency while it ran waits for it', () => {
    const d = decideRateLimited({ ...claimed, unmet_deps: 1 }, { token: 'tok', agentId: 'a', reason: 'limit', reset_at: now }, now);
    expect(d.task).toMatchObject({ status: 'blocked', blocked_reason: 'dependencies' });
  });

  it('refuses another lease, an expired one and a task not claimed', () => {
    const input = { token: 'tok', agentId: 'a', reason: 'limit', reset_at: now };
    expect(codeOf(() => decideRateLimited(claimed, { ...input, token: 'other' }, now))).toBe('LEASE_LOST');
    expect(codeOf(() => decideRateLimited(claimed, input, new Date(now.getTime() + 120_000)))).toBe('LEASE_LOST');
    expect(codeOf(() => decideRateLimited(taskFixture({ status: 'pending', attempts: 0 }), input, now))).toBe('NOT_CLAIMED');
  });
});

describe('detectRateLimit', () => {
  const exited = (stdout: string, stderr = '', code = 1) => ({ code, stdout, stderr_tail: stderr });
  const rule = DEFAULT_RATE_LIMIT_RULE;

  it("reads Claude Code's `usage limit reached|<epoch>`", () => {
    const hit = detectRateLimit(exited('', 'Claude AI usage limit reached|1796047200'), rule, now);
    expect(hit?.reset_at).toEqual(new Date(1796047200 * 1000));
  });

  it("reads Claude Code's JSON error result, with its reset time of day and zone", () => {
    const line = JSON.stringify({ type: 'result', subtype: 'success', is_error: true, result: 'Claude usage limit reached. Your limit will reset at 3pm (Europe/Berlin).', total_cost_usd: 0 });
    const hit = detectRateLimit(exited(`some progress\n${line}\n`), rule, now);
    // 10:00 UTC is 11:00 in Berlin (CET): 3pm there is 14:00 UTC the same day.
    expect(hit?.reset_at.toISOString()).toBe('2026-11-30T14:00:00.000Z');
  });

  it('waits the default when the message names no time', () => {
    const hit = detectRateLimit(exited('', 'Error: 429 {"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}'), rule, now);
    expect(hit?.reset_at).toEqual(new Date(now.getTime() + rule.defaultWaitMs));
  });

  it('does not take an ordinary failure, or talk about rate limits, for a rate limit', () => {
    expect(detectRateLimit(exited('tests failed: expected rate limit 429 to be enforced', 'AssertionError: rate limit exceeded'), rule, now)).toBeNull();
    const ok = JSON.stringify({ type: 'result', is_error: false, result: 'Claude usage limit reached' });
    expect(detectRateLimit(exited(ok), rule, now)).toBeNull();
  });

  it('takes a named exit code, and a pattern with a reset group', () => {
    expect(detectRateLimit(exited('', '', 75), { ...rule, exitCodes: [75] }, now)?.reset_at).toEqual(new Date(now.getTime() + rule.defaultWaitMs));
    const pattern = /quota exhausted until (?<reset>\S+)/;
    expect(detectRateLimit(exited('quota exhausted until 2026-11-30T12:00:00Z'), { ...rule, pattern }, now)?.reset_at.toISOString()).toBe('2026-11-30T12:00:00.000Z');
  });
});

describe('reset times in words', () => {
  it.each([
    ['resets 9:30 AM (America/New_York)', '2026-11-30T14:30:00.000Z'], // 05:00 in New York: 9:30 the same day
    ['Your limit will reset at 9am (Asia/Tokyo)', '2026-12-01T00:00:00.000Z'], // 19:00 in Tokyo: 9am tomorrow
    ['reset at 12am (UTC)', '2026-12-01T00:00:00.000Z'],
    ['reset at 12pm (Etc/UTC)', '2026-11-30T12:00:00.000Z'],
  ])('%s -> %s', (text, want) => {
    expect(resetFromText(text, now)?.toISOString()).toBe(want);
  });

  it('ignores impossible times, and an unknown zone falls back to this machine', () => {
    expect(resetFromText('reset at 13pm', now)).toBeNull();
    expect(resetFromText('reset at 7:75', now)).toBeNull();
    expect(resetFromText('reset at 3pm (Not/A_Zone)', now)).toEqual(nextWallTime(now, 15, 0));
  });

  it('crosses a DST change', () => {
    // 2026-03-29 01:00 UTC Europe/Berlin goes from +01:00 to +02:00.
    const before = new Date('2026-03-28T20:00:00Z');
    expect(nextWallTime(before, 9, 0, 'Europe/Berlin')?.toISOString()).toBe('2026-03-29T07:00:00.000Z');
  });
});

describe('CLI options', () => {
  it('parses --rate-limited-until as an ISO time or seconds from now', () => {
    expect(parseResetAt('3600', now)).toBe('2026-11-30T11:00:00.000Z');
    expect(parseResetAt('2026-11-30T15:00:00Z', now)).toBe('2026-11-30T15:00:00Z');
    for (const bad of ['soon', '-5', '2026-99-99T00:00:00Z', '1e9', `2026-11-30T15:00:00Z${'x'.repeat(50)}`]) expect(codeOf(() => parseResetAt(bad, now))).toBe('VALIDATION_FAILED');
  });

  it('checks the --rate-limit-* options', () => {
    expect(parseRateLimitOptions(undefined, undefined, undefined)).toBeUndefined();
    expect(parseRateLimitOptions(['75', '2'], 'limit (?<reset>\\d+)', '60')).toEqual({ exitCodes: [75, 2], pattern: 'limit (?<reset>\\d+)', waitSeconds: 60 });
    expect(codeOf(() => parseRateLimitOptions(['0'], undefined, undefined))).toBe('VALIDATION_FAILED');
    expect(codeOf(() => parseRateLimitOptions(['256'], undefined, undefined))).toBe('VALIDATION_FAILED');
    expect(codeOf(() => parseRateLimitOptions(undefined, '(unclosed', undefined))).toBe('VALIDATION_FAILED');
    expect(codeOf(() => parseRateLimitOptions(undefined, 'x'.repeat(501), undefined))).toBe('VALIDATION_FAILED');
    expect(codeOf(() => parseRateLimitOptions(undefined, undefined, '0'))).toBe('VALIDATION_FAILED');
    expect(codeOf(() => parseRateLimitOptions(undefined, undefined, '86401'))).toBe('VALIDATION_FAILED');
  });
});
