import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ConsoleNotifier, renderEventLine } from '../../src/adapters/notifiers/console-notifier.js';
import { event } from './support.js';

async function linesFor(events: Parameters<ConsoleNotifier['notify']>[0][]): Promise<string[]> {
  const out = new PassThrough();
  const chunks: string[] = [];
  out.on('data', (c: Buffer) => chunks.push(c.toString('utf8')));
  const n = new ConsoleNotifier({ out, timeZone: 'utc' });
  for (const e of events) await n.notify(e);
  await n.close();
  return chunks.join('').split('\n').filter((l) => l !== '');
}

describe('ConsoleNotifier', () => {
  it('writes one readable line per event', async () => {
    const lines = await linesFor([
      event(1, 'task.claimed', { payload: { attempt: 2, lease_expires_at: '2024-05-01T12:08:04.000Z' } }),
      event(2, 'task.done', { payload: { attempt: 1, has_output: true } }),
      event(3, 'task.failed', { payload: { reason: 'tests fail', attempt: 1, retryable: true } }),
      event(4, 'task.dead_lettered', { agent_id: null, payload: { reason: 'tests fail', why: 'attempts_exhausted', attempts: 3 } }),
      event(5, 'task.unblocked', { task_id: 'loom-00000002', agent_id: null, payload: { by: 'loom-1a2b3c4d' } }),
      event(6, 'task.lease_expired', { payload: { attempt: 2, lease_expires_at: '2024-05-01T12:03:00.000Z' } }),
      event(7, 'escalation.raised', { payload: { escalation_id: 'esc-1', message: 'which database should I use?', source: 'agent' } }),
      event(8, 'message.sent', { task_id: null, payload: { message_id: 'm1', to: 'bob', thread_id: null } }),
      event(9, 'message.sent', { task_id: null, payload: { message_id: 'm2', to: null, thread_id: null } }),
      event(10, 'task.retrying', { agent_id: null, payload: { run_after: 'x', delay_ms: 30_000, attempt: 1, max_attempts: 3 } }),
    ]);
    expect(lines).toEqual([
      '12:03:04 task.claimed loom-1a2b3c4d by ada (attempt 2)',
      '12:03:04 task.done loom-1a2b3c4d by ada (attempt 1)',
      '12:03:04 task.failed loom-1a2b3c4d by ada (attempt 1, retryable): tests fail',
      '12:03:04 task.dead_lettered loom-1a2b3c4d after 3 attempts (attempts exhausted): tests fail',
      '12:03:04 task.unblocked loom-00000002 (after loom-1a2b3c4d)',
      '12:03:04 task.lease_expired loom-1a2b3c4d held by ada (attempt 2)',
      '12:03:04 escalation.raised loom-1a2b3c4d by ada (agent): which database should I use?',
      '12:03:04 message.sent from ada to bob',
      '12:03:04 message.sent from ada to everyone',
      '12:03:04 task.retrying loom-1a2b3c4d (attempt 1/3, retry in 30s)',
    ]);
  });

  it('keeps agent text on one line and strips terminal escapes', () => {
    const line = renderEventLine(event(1, 'escalation.raised', { payload: { message: 'line one\nline two\u001b[31m red', source: 'agent' } }), true);
    expect(line).toBe('12:03:04 escalation.raised loom-1a2b3c4d by ada (agent): line one line two [31m red');
    expect(line).not.toMatch(/[\n\u001b]/);
  });

  it('renders an event type it has no special form for', () => {
    expect(renderEventLine(event(1, 'epic.completed', { agent_id: null, payload: {} }), true)).toBe('12:03:04 epic.completed loom-1a2b3c4d');
  });

  it('survives a closed output stream', async () => {
    const out = new PassThrough();
    const n = new ConsoleNotifier({ out });
    out.destroy(new Error('EPIPE'));
    await new Promise((r) => setImmediate(r));
    await expect(n.notify(event(1))).resolves.toBeUndefined();
  });
});
