// Runs with plain `node --test`: the notifier module needs nothing from Loom at
// run time (the plugin API is imported by index.js only).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, test } from 'node:test';
import { JsonlNotifier } from '../src/jsonl-notifier.js';

/** @type {string} */
let dir;
/** @type {string[]} */
let logged;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'loom-jsonl-'));
  logged = [];
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const ctx = () => ({ name: 'audit', projectDir: dir, log: (/** @type {string} */ line) => logged.push(line) });

/** @param {number} id */
const event = (id) => ({ id, project_id: 'prj-1', type: 'task.done', task_id: `loom-${id}`, agent_id: 'ada', payload: { attempt: 1 }, at: '2026-01-01T00:00:00.000Z' });

const lines = (path) => readFileSync(path, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));

test('appends one JSON line per event, in order, under the project directory', async () => {
  const n = new JsonlNotifier({ path: 'logs/events.jsonl' }, ctx());
  assert.equal(n.name, 'audit');
  for (let i = 1; i <= 3; i++) await n.notify(event(i));
  await n.close();
  assert.deepEqual(lines(join(dir, 'logs/events.jsonl')), [event(1), event(2), event(3)]);

  // A second notifier on the same file appends rather than truncating.
  const again = new JsonlNotifier({ path: 'logs/events.jsonl' }, ctx());
  await again.notify(event(4));
  await again.close();
  assert.deepEqual(lines(join(dir, 'logs/events.jsonl')).map((e) => e.id), [1, 2, 3, 4]);
});

test('notify returns before anything is written; close() flushes everything queued', async () => {
  const path = join(dir, 'events.jsonl');
  const n = new JsonlNotifier({ path }, ctx());
  const pending = [];
  for (let i = 1; i <= 500; i++) pending.push(n.notify(event(i)));
  await Promise.all(pending);
  await n.close();
  assert.equal(lines(path).length, 500);
  assert.deepEqual(n.stats(), { written: 500, dropped: 0, failed: 0, queued: 0 });
  await n.notify(event(501)); // after close: ignored, never throws
  assert.equal(lines(path).length, 500);
});

test('the queue is bounded: the oldest lines are dropped, counted and logged once', async () => {
  const path = join(dir, 'events.jsonl');
  const n = new JsonlNotifier({ path, max_queued: 10 }, ctx());
  for (let i = 1; i <= 100; i++) void n.notify(event(i));
  await n.close();
  const ids = lines(path).map((e) => e.id);
  assert.deepEqual(ids, Array.from({ length: 10 }, (_, i) => 91 + i));
  assert.deepEqual(n.stats(), { written: 10, dropped: 90, failed: 0, queued: 0 });
  assert.equal(logged.filter((l) => l.includes('dropping the oldest')).length, 1);
});

test('a file it cannot write is logged once; notify and close still resolve', async () => {
  writeFileSync(join(dir, 'not-a-folder'), '');
  const n = new JsonlNotifier({ path: 'not-a-folder/events.jsonl' }, ctx());
  await n.notify(event(1));
  await n.notify(event(2));
  await n.close();
  assert.equal(n.stats().written, 0);
  assert.equal(n.stats().failed, 2);
  assert.equal(logged.length, 1);
  assert.match(logged[0] ?? '', /^audit: cannot write .*not-a-folder\/events\.jsonl/);
});
