import { checkBatch, MAX_BATCH_BYTES, MAX_BATCH_TASKS, tooMany, type BatchItem } from '../../domain/batch.js';
import { LoomError } from '../../domain/errors.js';
import { TASK_ID_PATTERN } from '../../domain/task.js';
import type { BulkTaskInput, CreateTasksInput, CreateTasksResult } from '../../ports/loom-api.js';
import type { UseCaseDeps } from './deps.js';
import { writeBatch } from './plan-writer.js';

/** Refused before the schema runs over every item: too many of them, or too many bytes. */
export function checkBatchSize(tasks: unknown): void {
  if (!Array.isArray(tasks)) return;
  if (tasks.length > MAX_BATCH_TASKS) throw tooMany('call', tasks.length, MAX_BATCH_TASKS);
  const bytes = Buffer.byteLength(JSON.stringify(tasks), 'utf8');
  if (bytes > MAX_BATCH_BYTES) {
    throw new LoomError('VALIDATION_FAILED', `the tasks of this call take ${bytes} bytes of JSON; one call takes at most ${MAX_BATCH_BYTES}`, {
      hint: 'split them into several calls (a later call can depend on the ids an earlier one returned), or keep large material in files and put their paths in the contexts. Nothing was written',
      details: { bytes, limit: MAX_BATCH_BYTES },
    });
  }
}

/** Keyless items are keyed by position: '#' never starts a key a caller gives. */
const keyOf = (t: BulkTaskInput, i: number): string => t.key ?? `#${i}`;

function toItem(t: BulkTaskInput, i: number): BatchItem {
  if (t.key !== undefined && TASK_ID_PATTERN.test(t.key)) {
    throw new LoomError('VALIDATION_FAILED', `tasks[${i}]: key ${t.key} is shaped like a task id`, {
      hint: 'a key names an item of this call (like "api" or "step-2"); loom-<8 hex> names an existing task. Choose another key. Nothing was written',
      details: { index: i, key: t.key },
    });
  }
  return {
    key: keyOf(t, i),
    title: t.title,
    context: t.context ?? {},
    depends_on: [...new Set(t.depends_on ?? [])],
    parent: t.parent_id ?? null,
    ...(t.priority === undefined ? {} : { priority: t.priority }),
    ...(t.done_when === undefined ? {} : { done_when: t.done_when }),
    ...(t.labels === undefined ? {} : { labels: t.labels }),
    ...(t.epic === undefined ? {} : { epic: t.epic }),
    ...(t.max_attempts === undefined ? {} : { max_attempts: t.max_attempts }),
    ...(t.origin === undefined ? {} : { origin: t.origin }),
  };
}

/**
 * Bulk create: the batch is checked by itself, then written in one
 * transaction by the set-based writer (the one decomposition and workflows
 * use), with one task.created event per task. Not idempotent, as single
 * create is not: a call that failed wrote nothing and can be sent again.
 */
export async function createTasks(d: UseCaseDeps, input: CreateTasksInput): Promise<CreateTasksResult> {
  const p = input.project_id;
  const items = input.tasks.map(toItem);
  const shape = checkBatch(items);
  const now = d.clock.now();
  const result = await d.store.transaction(async (tx) => {
    const written = await writeBatch(d, tx, { project_id: p, items, shape, origin: input.origin, now });
    const events = await tx.appendEvents(p, written.events, now);
    return { written, events };
  });
  d.bus.publish(result.events);
  const { tasks, edges } = result.written;
  return {
    tasks: tasks.map((t, i) => ({ id: t.id, ...(input.tasks[i]!.key === undefined ? {} : { key: input.tasks[i]!.key }), status: t.status })),
    created: tasks.length,
    edges,
  };
}
